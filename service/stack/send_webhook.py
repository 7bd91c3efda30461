"""Deliver real, signed GitHub and Hugging Face webhook events to a platform.

``python -m service.stack.send_webhook github --stack stack.json --event push --repo o/r``
``python -m service.stack.send_webhook huggingface --stack stack.json --repo o/model``

The checks import the same functions. Payloads follow each service's documented shape (GitHub's
push/repository/release/ping, Hugging Face's ``{event, repo, webhook}``), including the personal
data the real ones carry (pusher, sender, commit authors, discussion authors), so that scrubbing
is tested against what arrives in production.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from service.ingest.signatures import github_signature
from service.stack.info import StackInfo


def github_payload(
    event: str,
    repo: str,
    *,
    person: str = "Octo Cat",
    email: str = "octocat@example.org",
    login: str = "octocat",
    description: str = "",
    licence: str = "MIT",
) -> dict[str, Any]:
    owner, _, name = repo.partition("/")
    repository = {
        "id": abs(hash(repo)) % 10**9,
        "name": name,
        "full_name": repo,
        "private": False,
        "owner": {"login": owner, "id": 1, "type": "Organization"},
        "html_url": f"https://github.com/{repo}",
        "description": description,
        "topics": ["llm", "evaluation"],
        "default_branch": "main",
        "visibility": "public",
        "license": {"key": licence.lower(), "spdx_id": licence, "name": licence},
    }
    sender = {"login": login, "id": 2, "type": "User", "html_url": f"https://github.com/{login}"}
    if event == "ping":
        return {
            "zen": "Keep it logically awesome.",
            "hook_id": 1,
            "repository": repository,
            "sender": sender,
        }
    body: dict[str, Any] = {"repository": repository, "sender": sender}
    if event == "push":
        author = {"name": person, "email": email, "username": login}
        body |= {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": "a" * 40,
            "pusher": {"name": login, "email": email},
            "commits": [
                {"id": "a" * 40, "message": "Update README", "author": author, "committer": author}
            ],
            "head_commit": {"id": "a" * 40, "author": author, "committer": author},
        }
    elif event == "release":
        body |= {
            "action": "published",
            "release": {
                "tag_name": "v1.0.0",
                "name": "v1.0.0",
                "html_url": f"https://github.com/{repo}/releases/v1.0.0",
                "author": {"login": login},
            },
        }
    else:
        body |= {"action": "created"}
    return body


def hf_payload(
    repo: str,
    *,
    author_id: str = "61e1f9c4a1b2c3d4e5f6a7b8",
    repo_type: str = "model",
    licence: str = "apache-2.0",
) -> dict[str, Any]:
    return {
        "event": {"action": "update", "scope": "repo.content"},
        "repo": {
            "type": repo_type,
            "name": repo,
            "id": uuid.uuid5(uuid.NAMESPACE_URL, repo).hex[:24],
            "private": False,
            "url": {
                "web": f"https://huggingface.co/{repo}",
                "api": f"https://huggingface.co/api/models/{repo}",
            },
            "headSha": "b" * 40,
            "owner": {"id": author_id},
            "tags": ["text-generation", f"license:{licence}"],
        },
        "discussion": {"author": {"id": author_id}, "title": "Update model card"},
        "webhook": {"id": "6390e7b4d7f1e5a6b2c3d4e5", "version": 3},
    }


def send_github(
    client: httpx.Client,
    secret: str,
    event: str,
    payload: dict[str, Any],
    *,
    delivery: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature or github_signature(secret, body),
        "User-Agent": "GitHub-Hookshot/preflight",
    }
    return client.post("/webhooks/github", content=body, headers=headers)


def send_huggingface(client: httpx.Client, secret: str, payload: dict[str, Any]) -> httpx.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Webhook-Secret": secret}
    return client.post("/webhooks/huggingface", content=body, headers=headers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.stack.send_webhook")
    parser.add_argument("sender", choices=["github", "huggingface"])
    parser.add_argument("--stack", required=True, type=Path, help="stack.json of the target")
    parser.add_argument(
        "--event", default="push", choices=["push", "repository", "release", "ping"]
    )
    parser.add_argument("--repo", default="preflight/example", help="Default: %(default)r")
    args = parser.parse_args(argv)
    info = StackInfo.load(args.stack)
    with httpx.Client(base_url=info.url, verify=str(info.ca_file), timeout=10) as client:
        if args.sender == "github":
            response = send_github(
                client,
                info.webhook_secrets["github"],
                args.event,
                github_payload(args.event, args.repo),
            )
        else:
            response = send_huggingface(
                client, info.webhook_secrets["huggingface"], hf_payload(args.repo)
            )
    sys.stdout.write(f"{response.status_code} {response.text}\n")
    return 0 if response.status_code < 400 else 1


if __name__ == "__main__":
    raise SystemExit(main())
