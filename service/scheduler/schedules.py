"""What is scheduled: each schedule's name, period and whether it runs, from ``Settings``.

``backup`` and ``retention_purge`` are run by the workers' scheduler (``task`` set);
``arxiv_poll`` is run by the poller process on its own cadence and only reported (``task`` None).
A schedule switched off by configuration is still listed, with the reason, so that health and the
release gate can tell "disabled" from "missing".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from service.settings import Settings

Task = Callable[[Settings, Redis], Awaitable[dict[str, Any]]]

BACKUP = "backup"
RETENTION_PURGE = "retention_purge"
ARXIV_POLL = "arxiv_poll"
NAMES = (ARXIV_POLL, BACKUP, RETENTION_PURGE)


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    period_s: float
    disabled_reason: str | None  # None: it runs
    task: Task | None  # None: another process runs it and reports its runs

    @property
    def enabled(self) -> bool:
        return self.disabled_reason is None


def schedules(settings: Settings) -> list[Schedule]:
    """Every schedule of the platform, in ``NAMES`` order."""
    from service.scheduler import tasks  # tasks import the document store; keep this light

    off = None if settings.scheduler_enabled else "scheduler_enabled is false"
    backup_off = off or (None if settings.backups_enabled else "backups_enabled is false")
    poll_off = None if settings.arxiv_url is not None else "arxiv_url is not set"
    return [
        Schedule(ARXIV_POLL, settings.arxiv_poll_interval_s, poll_off, None),
        Schedule(BACKUP, settings.backup_period_s, backup_off, tasks.backup),
        Schedule(RETENTION_PURGE, settings.retention_purge_period_s, off, tasks.retention_purge),
    ]
