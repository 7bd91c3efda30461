"""The GitHub emulator's routes: list a repository's issues, GitHub's errors for the rest.

Each API request is authenticated (a configured token list makes unknown tokens a 401), counted
against the caller's hourly budget (``ratelimit.py``), checked against an injected fault
(``/_emulator/faults``: 403/429 with ``retry-after`` or ``x-ratelimit-remaining: 0``) and then
answered. Every answer carries the headers GitHub sends: rate-limit state, the selected API
version, the media type and a request id.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from service.emulators.faults import Faults, FaultSpec, install_faults
from service.emulators.github import API_VERSION, wire
from service.emulators.github.admin import install_issue_admin
from service.emulators.github.ratelimit import Budget, RateLimiter
from service.emulators.github.store import IssueStore, Repository, select
from service.emulators.server import build_app
from service.emulators.state import EmulatorState, Fault

DEFAULT_PER_PAGE = 30  # GitHub's default page size
MAX_PER_PAGE = 100  # GitHub's largest page; larger values are served as 100
JSON_TYPE = "application/json; charset=utf-8"
_CHOICES = {
    "state": ("open", "closed", "all"),
    "sort": ("created", "updated", "comments"),
    "direction": ("asc", "desc"),
}
_PRIMARY_ANON = (
    "API rate limit exceeded for {ip}. (But here's the good news: Authenticated "
    "requests get a higher rate limit. Check out the documentation for more details.)"
)
_PRIMARY_USER = "API rate limit exceeded for user ID 1."


def render_fault(fault: Fault) -> tuple[bytes, str]:
    """Outages of the shared emulator machinery, in GitHub's error format."""
    return _dumps(wire.error(fault.message, fault.status)), JSON_TYPE


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    common = {
        "server": "github.com",
        "content-type": JSON_TYPE,
        "x-github-api-version-selected": API_VERSION,
        "x-github-media-type": "github.v3; format=json",
        "x-github-request-id": ":".join(secrets.token_hex(n).upper() for n in (2, 3, 4, 4, 4)),
    }
    return Response(_dumps(body), status_code=status, headers={**common, **(headers or {})})


def _token(request: Request) -> str | None:
    """The credential of ``Authorization: Bearer X`` or ``token X`` (both are accepted)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else None


def _fault_answer(spec: FaultSpec, budget: Budget, ip: str | None) -> Response:
    """GitHub's answer to a rate-limited request; ``ip`` None: an authenticated caller."""
    headers = budget.headers()
    if spec.ratelimit_remaining_zero:
        reset = int(time.time()) + spec.reset_after_s
        headers |= {
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-used": str(budget.limit),
        }
        body = wire.error(
            _PRIMARY_ANON.format(ip=ip) if ip else _PRIMARY_USER, spec.status, wire.RATE_LIMIT_DOCS
        )
    elif spec.status in (403, 429):
        body = wire.error(
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again.",
            spec.status,
            wire.SECONDARY_RATE_LIMIT_DOCS,
        )
    else:
        body = wire.error(
            "Service Unavailable" if spec.status == 503 else "Server Error", spec.status
        )
    if spec.retry_after_s is not None:
        headers["retry-after"] = str(spec.retry_after_s)
    return _json(body, spec.status, headers)


def _query_error(request: Request) -> tuple[str, str] | None:
    for name, allowed in _CHOICES.items():
        value = request.query_params.get(name)
        if value is not None and value not in allowed:
            return name, value
    return None


def _int(value: str | None, default: int) -> int:
    """GitHub serves malformed paging numbers as if they were absent."""
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def create_app(
    state: EmulatorState, store: IssueStore, *, tokens: frozenset[str], limiter: RateLimiter
) -> FastAPI:
    app = build_app(state, render_fault)
    faults = Faults()
    app.state.faults = faults
    install_faults(app, faults)
    install_issue_admin(app, store)
    state.reset_hooks += [store.reset, limiter.reset]

    def admitted(request: Request) -> Budget | Response:
        """Authenticate, count against the budget, apply a fault: the budget, or the answer."""
        token = _token(request)
        if (
            token is not None
            and tokens
            and not any(secrets.compare_digest(token.encode(), known.encode()) for known in tokens)
        ):
            return _json(wire.error("Bad credentials", 401), 401)
        ip = request.client.host if request.client else "unknown"
        # Keyed by a digest: the emulator keeps no credential in memory longer than a request.
        caller = f"token:{hashlib.sha256(token.encode()).hexdigest()}" if token else f"ip:{ip}"
        budget = limiter.count(caller, authenticated=token is not None)
        who = None if token else ip
        if budget.exceeded:
            spent = FaultSpec(
                status=403,
                ratelimit_remaining_zero=True,
                reset_after_s=max(0, budget.reset - int(time.time())),
            )
            return _fault_answer(spent, budget, who)
        injected = faults.claim(request.url.path)
        return budget if injected is None else _fault_answer(injected, budget, who)

    def list_issues(request: Request, repo: Repository | None) -> Response:
        budget = admitted(request)
        if isinstance(budget, Response):
            return budget
        headers = budget.headers()
        if repo is None:
            return _json(wire.error("Not Found", 404, wire.LIST_ISSUES_DOCS), 404, headers)
        invalid = _query_error(request)
        if invalid is not None:
            return _json(wire.validation_failed(*invalid), 422, headers)
        q = request.query_params
        labels = [n.strip() for n in q.get("labels", "").split(",") if n.strip()]
        chosen = select(
            repo,
            labels=labels,
            state=q.get("state", "open"),
            sort=q.get("sort", "created"),
            direction=q.get("direction", "desc"),
        )
        per_page = min(MAX_PER_PAGE, max(1, _int(q.get("per_page"), DEFAULT_PER_PAGE)))
        page = max(1, _int(q.get("page"), 1))
        last = max(1, -(-len(chosen) // per_page))
        base = str(request.base_url).rstrip("/")
        items = chosen[(page - 1) * per_page : page * per_page]
        link = wire.link_header(
            f"{base}/repositories/{repo.id}/issues", q.multi_items(), page, last
        )
        if link is not None:
            headers["link"] = link
        return _json([wire.issue(base, repo, i) for i in items], 200, headers)

    @app.get("/repos/{owner}/{name}/issues")
    async def list_for_repo(owner: str, name: str, request: Request) -> Response:
        return list_issues(request, store.find(owner, name))

    @app.get("/repositories/{repo_id}/issues")
    async def list_for_repository_id(repo_id: str, request: Request) -> Response:
        found = store.by_id(int(repo_id)) if repo_id.isdigit() else None
        return list_issues(request, found)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def not_found(path: str) -> Response:
        return _json(wire.error("Not Found", 404), 404)

    return app
