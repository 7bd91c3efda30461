"""The emulator's repositories and issues: loaded from a fixture, extended at run time.

Kept in memory (one process, a few hundred issues at most) and restored to the fixture by
``/_emulator/reset``. ``{version}`` in a fixture label becomes the release the stack runs, so the
fixture always holds a few reports about the running version, under the default threshold.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

FIXTURE = Path(__file__).with_name("fixtures") / "issues.json"
State = Literal["open", "closed"]
# Issue ids are global on GitHub (an issue and a repository never share one); ours start here.
_ISSUE_ID_BASE = 2_600_000_000


@dataclass(frozen=True)
class LabelInfo:
    color: str
    description: str | None
    default: bool = False


@dataclass
class Issue:
    """What the emulator keeps of one issue or pull request; ``wire.issue`` renders the rest."""

    id: int
    number: int
    title: str
    user: str
    labels: tuple[str, ...]
    state: State
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    body: str | None
    pull_request: bool = False

    def has_labels(self, wanted: list[str]) -> bool:
        """All of ``wanted``, compared case-insensitively as GitHub compares label names."""
        mine = {name.casefold() for name in self.labels}
        return all(name.casefold() in mine for name in wanted)


@dataclass
class Repository:
    id: int
    owner: str
    name: str
    labels: dict[str, LabelInfo] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def label_id(self, name: str) -> int:
        return _stable_id(f"label:{self.full_name}:{name}")

    def user_id(self, login: str) -> int:
        return _stable_id(f"user:{login}") % 200_000_000 + 1

    def add(
        self,
        *,
        title: str,
        user: str,
        labels: tuple[str, ...],
        state: State,
        created_at: dt.datetime,
        body: str | None,
        pull_request: bool,
    ) -> Issue:
        number = len(self.issues) + 1  # issues and pull requests share one sequence
        issue = Issue(
            id=_ISSUE_ID_BASE + self.id % 1_000 * 1_000_000 + number,
            number=number,
            title=title,
            user=user,
            labels=labels,
            state=state,
            created_at=created_at,
            updated_at=created_at,
            closed_at=created_at if state == "closed" else None,
            body=body,
            pull_request=pull_request,
        )
        self.issues.append(issue)
        return issue


def _stable_id(text: str) -> int:
    """A deterministic positive id, so a label or user keeps its id across restarts."""
    return zlib.crc32(text.encode()) + 1


class IssueStore:
    """Every repository the emulator serves, by name (case-insensitive) and by id."""

    def __init__(self, fixture: dict[str, Any], version: str) -> None:
        self._fixture = fixture
        self._version = version
        self._lock = threading.Lock()
        self._repos: dict[str, Repository] = {}
        self.reset()

    @classmethod
    def from_file(cls, path: Path, version: str) -> IssueStore:
        return cls(json.loads(path.read_text(encoding="utf-8")), version)

    def render(self, name: str) -> str:
        """A label name with ``{version}`` filled in (``release:{version}``)."""
        return name.replace("{version}", self._version)

    def reset(self) -> None:
        """Back to the fixture; issue ages are counted from now."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        repos: dict[str, Repository] = {}
        for spec in self._fixture["repositories"]:
            repo = Repository(int(spec["id"]), str(spec["owner"]), str(spec["name"]))
            for name, info in spec.get("labels", {}).items():
                repo.labels[self.render(name)] = LabelInfo(
                    str(info["color"]), info.get("description"), bool(info.get("default", False))
                )
            for item in spec.get("issues", []):
                repo.add(
                    title=str(item["title"]),
                    user=str(item["user"]),
                    labels=tuple(self.render(n) for n in item.get("labels", [])),
                    state=item.get("state", "open"),
                    created_at=now - dt.timedelta(hours=float(item.get("age_hours", 1))),
                    body=item.get("body"),
                    pull_request=bool(item.get("pull_request", False)),
                )
            repos[repo.full_name.casefold()] = repo
        with self._lock:
            self._repos = repos

    def find(self, owner: str, name: str) -> Repository | None:
        with self._lock:
            return self._repos.get(f"{owner}/{name}".casefold())

    def by_id(self, repo_id: int) -> Repository | None:
        with self._lock:
            return next((r for r in self._repos.values() if r.id == repo_id), None)

    def repositories(self) -> list[Repository]:
        with self._lock:
            return list(self._repos.values())

    def add(self, repo: Repository, count: int, **fields: Any) -> list[Issue]:
        """``count`` new issues (or pull requests) created now, numbered after the last one."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        labels = tuple(self.render(n) for n in fields.pop("labels"))
        with self._lock:
            return [repo.add(labels=labels, created_at=now, **fields) for _ in range(count)]


def select(
    repo: Repository, *, labels: list[str], state: str, sort: str, direction: str
) -> list[Issue]:
    """The list endpoint's filter and order (state ``all`` keeps both; newest first default)."""
    chosen = [
        i for i in repo.issues if (state == "all" or i.state == state) and i.has_labels(labels)
    ]

    def key(issue: Issue) -> tuple[dt.datetime, int]:
        moment = issue.updated_at if sort == "updated" else issue.created_at
        return moment, issue.number

    return sorted(chosen, key=key, reverse=direction == "desc")
