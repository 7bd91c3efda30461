"""One judgement of each schedule, shared by ``/health`` and ``/metrics``.

Overdue: a schedule is expected to start by its ``next_due_at`` (or, never run, from when it was
first declared). It is overdue when it has not started ``period x (overdue_factor - 1)`` (at
least ``SCHEDULE_OVERDUE_MIN_GRACE_S``) plus one tick after that, or when its current run has
gone on longer than ``scheduler_run_timeout_s``.
Failed: its last finished run failed or was lost. Either makes it not ``ok``. ``backed_off`` (the
poll ended early because arXiv asked every process to wait) is a run that behaved as it must.
All ages are on Redis's clock, the one the scripts stamp with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.keyspace import keys as c
from service.scheduler.schedules import Schedule, schedules
from service.settings import Settings

FAILED_OUTCOMES = frozenset({"failed", "lost"})


def _float(record: dict[str, str], field: str) -> float | None:
    raw = record.get(field)
    return float(raw) if raw else None


def _iso(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class ScheduleView:
    schedule: Schedule
    record: dict[str, str]
    now: float
    overdue: bool
    runs_in: str

    def ts(self, field: str) -> float | None:
        return _float(self.record, field)

    @property
    def outcome(self) -> str | None:
        return self.record.get("outcome") or None

    @property
    def ok(self) -> bool:
        return self.schedule.enabled and not self.overdue and self.outcome not in FAILED_OUTCOMES

    def as_health(self) -> dict[str, Any]:
        success = self.ts("last_success_at")
        duration = self.ts("duration_s")
        return {
            "enabled": self.schedule.enabled,
            "disabled_reason": self.schedule.disabled_reason,
            "runs_in": self.runs_in,
            "period_s": self.schedule.period_s,
            "state": self.record.get("state") or "idle",
            "last_run_at": _iso(self.ts("started_at")),
            "last_finished_at": _iso(self.ts("finished_at")),
            "last_success_at": _iso(success),
            "age_s": None if success is None else round(self.now - success, 3),
            "outcome": self.outcome,
            "error": self.record.get("error") or None,
            "duration_s": None if duration is None else round(duration, 3),
            "next_due_at": _iso(self.ts("next_due_at")),
            "run_id": self.record.get("run_id") or None,
            "holder": self.record.get("holder") or None,
            "runs": int(self.record.get("runs") or 0),
            "failures": int(self.record.get("failures") or 0),
            "overdue": self.overdue,
            "ok": self.ok,
        }


def _overdue(schedule: Schedule, record: dict[str, str], now: float, settings: Settings) -> bool:
    if not schedule.enabled:
        return False
    started = _float(record, "started_at")
    if record.get("state") == "running" and started is not None:
        return now - started > settings.scheduler_run_timeout_s
    due = _float(record, "next_due_at")
    if due is not None and started is not None and schedule.task is not None:
        # Claimed slots: the claim script applies a shortened period from the last start on.
        # (The poller counts its interval from the end of a round, so no such bound applies.)
        due = min(due, started + schedule.period_s)
    due = due if due is not None else _float(record, "declared_at")
    if due is None:
        return False  # nobody has declared it yet: the first process to start will
    grace = (
        max(
            schedule.period_s * (settings.scheduler_overdue_factor - 1),
            c.SCHEDULE_OVERDUE_MIN_GRACE_S,
        )
        + settings.scheduler_tick_s
    )
    return now > due + grace


def views(settings: Settings, now: float, records: dict[str, dict[str, str]]) -> list[ScheduleView]:
    """Every schedule judged at ``now`` from its record."""
    out = []
    for schedule in schedules(settings):
        record = records.get(schedule.name, {})
        runs_in = "worker" if schedule.task is not None else "poller"
        out.append(
            ScheduleView(schedule, record, now, _overdue(schedule, record, now, settings), runs_in)
        )
    return out
