"""GitHub's JSON shapes (REST API 2022-11-28): users, labels, issues, errors and page links.

Field names and order follow what ``api.github.com`` sends (and the ``issue`` / ``simple-user`` /
``label`` schemas of GitHub's OpenAPI description, which the emulator's tests check against via
githubkit's generated models). URLs point at the emulator's own origin, as GitHub Enterprise
Server's point at its host, so a client that follows ``url`` or ``Link`` stays on the emulator.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

from service.emulators.github.store import Issue, Repository

DOCS = "https://docs.github.com/rest"
LIST_ISSUES_DOCS = f"{DOCS}/issues/issues#list-repository-issues"
RATE_LIMIT_DOCS = f"{DOCS}/overview/resources-in-the-rest-api#rate-limiting"
SECONDARY_RATE_LIMIT_DOCS = (
    f"{DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


def node_id(kind: str, number: int) -> str:
    """GitHub's legacy global node id: base64 of ``"<len(kind):02>:<kind><id>"``."""
    return base64.b64encode(f"{len(kind):02d}:{kind}{number}".encode()).decode()


def timestamp(moment: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` and no fraction, as every GitHub timestamp is written."""
    return None if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(base: str, login: str, user_id: int) -> dict[str, Any]:
    """A ``simple-user`` object."""
    api = f"{base}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": node_id("User", user_id),
        "avatar_url": f"{base}/avatars/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{base}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "user_view_type": "public",
        "site_admin": False,
    }


def label(base: str, repo: Repository, name: str) -> dict[str, Any]:
    """A label object as issues embed it (not a bare string)."""
    known = repo.labels.get(name)
    return {
        "id": repo.label_id(name),
        "node_id": node_id("Label", repo.label_id(name)),
        "url": f"{base}/repos/{repo.full_name}/labels/{quote(name, safe='')}",
        "name": name,
        "color": known.color if known else "ededed",
        "default": known.default if known else False,
        "description": known.description if known else None,
    }


def issue(base: str, repo: Repository, item: Issue) -> dict[str, Any]:
    """An ``issue`` object of the list endpoint; a pull request carries ``pull_request``."""
    api = f"{base}/repos/{repo.full_name}/issues/{item.number}"
    kind = "pull" if item.pull_request else "issues"
    html = f"{base}/{repo.full_name}/{kind}/{item.number}"
    author = user(base, item.user, repo.user_id(item.user))
    body: dict[str, Any] = {
        "url": api,
        "repository_url": f"{base}/repos/{repo.full_name}",
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": html,
        "id": item.id,
        "node_id": node_id("Issue", item.id),
        "number": item.number,
        "title": item.title,
        "user": author,
        "labels": [label(base, repo, name) for name in item.labels],
        "state": item.state,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 0,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "closed_at": timestamp(item.closed_at),
        "author_association": "NONE",
        "type": None,
        "active_lock_reason": None,
        "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
    }
    if item.pull_request:
        pulls = f"{base}/repos/{repo.full_name}/pulls/{item.number}"
        body["draft"] = False
        body["pull_request"] = {
            "url": pulls,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": None,
        }
    body |= {
        "body": item.body,
        "closed_by": author if item.state == "closed" else None,
        "reactions": _reactions(api),
        "timeline_url": f"{api}/timeline",
        "performed_via_github_app": None,
        "state_reason": "completed" if item.state == "closed" else None,
    }
    return body


def _reactions(api: str) -> dict[str, Any]:
    counts = dict.fromkeys(
        ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0
    )
    return {"url": f"{api}/reactions", "total_count": 0, **counts}


def error(message: str, status: int, documentation_url: str = DOCS) -> dict[str, Any]:
    """GitHub's error body; ``status`` is a string in it, as GitHub sends it."""
    return {"message": message, "documentation_url": documentation_url, "status": str(status)}


def validation_failed(field: str, value: str) -> dict[str, Any]:
    """The 422 body for an invalid query parameter value."""
    return {
        "message": "Validation Failed",
        "errors": [{"value": value, "resource": "Issue", "field": field, "code": "invalid"}],
        "documentation_url": LIST_ISSUES_DOCS,
        "status": "422",
    }


def link_header(url: str, query: list[tuple[str, str]], page: int, last: int) -> str | None:
    """``Link`` with prev, next, last and first (GitHub's order), each keeping the query."""
    if last <= 1 and page <= 1:
        return None
    kept = [(k, v) for k, v in query if k != "page"]

    def ref(number: int, rel: str) -> str:
        return f'<{url}?{urlencode([*kept, ("page", str(number))])}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(ref(min(page - 1, last), "prev"))
    if page < last:
        links += [ref(page + 1, "next"), ref(last, "last")]
    if page > 1:
        links.append(ref(1, "first"))
    return ", ".join(links)
