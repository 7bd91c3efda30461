"""Personal data in webhook payloads: dropped or pseudonymised before anything is stored.

GitHub and Hugging Face send names, logins and e-mail addresses of pushers, senders, commit
authors and commenters. None of them is needed to index a repository, so the scrubbers keep an
allowlist of repository fields and replace people by pseudonyms: ``subj_`` + a keyed HMAC of the
normalised identifier (``pseudonym_key``). The same function maps an erasure request's raw
identifier to the pseudonym stored, so ``POST /admin/subjects/erase`` finds the data without the
platform ever keeping the identifier. Without a ``pseudonym_key`` people are dropped outright.
The repository owner's login stays in the document (attribution), with its pseudonym as subject.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from service.settings import Settings

PREFIX = "subj_"
_GITHUB_REPO_FIELDS = (
    "id",
    "name",
    "full_name",
    "html_url",
    "description",
    "homepage",
    "topics",
    "default_branch",
    "language",
    "visibility",
    "private",
    "stargazers_count",
    "archived",
    "created_at",
    "pushed_at",
)
_HF_REPO_FIELDS = ("type", "name", "id", "private", "url", "headSha", "tags", "gated")


def pseudonym(settings: Settings, identifier: str) -> str | None:
    """The subject id of a person (login, name or e-mail), or None when nothing is kept."""
    if settings.pseudonym_key is None or not identifier.strip():
        return None
    key = settings.pseudonym_key.get_secret_value().encode()
    digest = hmac.new(key, identifier.strip().lower().encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def _people(settings: Settings, *identifiers: Any) -> list[str]:
    found = (pseudonym(settings, str(i)) for i in identifiers if isinstance(i, str) and i)
    return sorted({p for p in found if p})


def _commit_people(commit: dict[str, Any]) -> list[Any]:
    people: list[Any] = []
    for role in ("author", "committer"):
        person = commit.get(role) or {}
        people += [person.get("name"), person.get("email"), person.get("username")]
    return people


def scrub_github(settings: Settings, event: str, body: dict[str, Any]) -> dict[str, Any]:
    """``{"event", "repository", "ref", "release", "commits", "subjects"}``: no personal data."""
    repo = body.get("repository") or {}
    owner = (repo.get("owner") or {}).get("login") or (repo.get("owner") or {}).get("name")
    people = [owner, (body.get("sender") or {}).get("login")]
    pusher = body.get("pusher") or {}
    people += [pusher.get("name"), pusher.get("email")]
    commits = [c for c in body.get("commits") or [] if isinstance(c, dict)]
    for commit in [*commits, body.get("head_commit") or {}]:
        people += _commit_people(commit)
    licence = (repo.get("license") or {}).get("spdx_id") or ""
    release = body.get("release") or {}
    return {
        "event": event,
        "action": body.get("action"),
        "repository": {
            **{k: repo[k] for k in _GITHUB_REPO_FIELDS if k in repo},
            "owner": owner,
            "license": licence,
        },
        "ref": body.get("ref"),
        "after": body.get("after"),
        "commit_count": len(commits),
        "release": {k: release.get(k) for k in ("tag_name", "name", "html_url")}
        if release
        else None,
        "subjects": _people(settings, *people),
    }


def scrub_huggingface(settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    """``{"event", "repo", "webhook", "subjects"}``: author ids and comment texts left out."""
    repo = body.get("repo") or {}
    owner = str(repo.get("name", "")).partition("/")[0]
    people: list[Any] = [owner, (repo.get("owner") or {}).get("id")]
    for part in ("discussion", "comment"):
        people.append(((body.get(part) or {}).get("author") or {}).get("id"))
    return {
        "event": {k: (body.get("event") or {}).get(k) for k in ("action", "scope")},
        "repo": {**{k: repo[k] for k in _HF_REPO_FIELDS if k in repo}, "owner": owner},
        "webhook": {k: (body.get("webhook") or {}).get(k) for k in ("id", "version")},
        "subjects": _people(settings, *people),
    }
