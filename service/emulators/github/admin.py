"""``/_emulator/issues``: what the emulator holds, and new issues added while it runs.

This is how a self-test floods the tracker with user reports about the running release (more
than ``[ops] user_issues_max``) and shows ``post24h.user-issues`` failing on it. Guarded like the
other admin routes; ``/_emulator/reset`` goes back to the fixture.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from service.emulators.admin import require_admin
from service.emulators.github import DEFAULT_REPO
from service.emulators.github.store import IssueStore, Repository

MAX_ADDED = 5_000  # per call: plenty for a flood, small enough to stay in memory


class IssueCreate(BaseModel):
    """Issues to add; ``{version}`` in a label becomes the release the emulator was given."""

    model_config = ConfigDict(extra="forbid")

    repo: str = Field(default=DEFAULT_REPO, pattern=r"^[\w.-]+/[\w.-]+$")
    count: int = Field(default=1, ge=1, le=MAX_ADDED)
    title: str = Field(default="User report", min_length=1, max_length=256)
    labels: list[str] = Field(default_factory=list, max_length=20)
    state: Literal["open", "closed"] = "open"
    user: str = Field(default="user-reporter", pattern=r"^[A-Za-z0-9-]{1,39}$")
    body: str | None = Field(default=None, max_length=65_536)
    pull_request: bool = False


def _summary(repo: Repository) -> dict[str, Any]:
    pulls = sum(1 for i in repo.issues if i.pull_request)
    return {
        "full_name": repo.full_name,
        "id": repo.id,
        "issues": len(repo.issues) - pulls,
        "pull_requests": pulls,
    }


def install_issue_admin(app: FastAPI, store: IssueStore) -> None:
    router = APIRouter(prefix="/_emulator", dependencies=[Depends(require_admin)])

    @router.get("/issues")
    async def read_repositories() -> dict[str, Any]:
        return {"repositories": [_summary(r) for r in store.repositories()]}

    @router.post("/issues", response_model=None)
    async def create_issues(spec: IssueCreate) -> dict[str, Any] | JSONResponse:
        owner, _, name = spec.repo.partition("/")
        repo = store.find(owner, name)
        if repo is None:
            return JSONResponse({"error": f"unknown repository {spec.repo}"}, status_code=404)
        fields = spec.model_dump(exclude={"repo", "count"})
        created = store.add(repo, spec.count, **fields)
        return {"created": [i.number for i in created], **_summary(repo)}

    app.include_router(router)
