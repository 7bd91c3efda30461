"""Judging the target's scheduled jobs (``post24h.scheduled-jobs``) from what ``/health`` says.

The target reports each schedule in ``components.scheduler.schedules`` (docs/DESIGN.md): whether
it is enabled, its period, its last run and last success, the outcome of its last finished run.
The release policy (``[postdeploy.scheduled_jobs_s]``) gives the period each job must keep. A
job fails the item when the target has it switched off, configured to run less often than the
policy asks, its last run failed or was lost, it never succeeded, or its last success is older
than the policy's period. Kept apart from the check so the rules read (and are tested) alone.
"""

from __future__ import annotations

from typing import Any

FAILED = frozenset({"failed", "lost"})
ERROR_CHARS = 80  # of the target's error in the verdict's reason; the evidence keeps all of it
Schedules = dict[str, dict[str, Any]]


def reported(health_body: dict[str, Any]) -> Schedules:
    """The schedules the target reports (empty when it has no scheduler component)."""
    scheduler = health_body.get("components", {}).get("scheduler") or {}
    schedules = scheduler.get("schedules")
    return dict(schedules) if isinstance(schedules, dict) else {}


def awaiting_first_run(schedules: Schedules, periods: dict[str, float]) -> list[str]:
    """Configured, enabled jobs that have not finished a run yet (a target that just booted)."""
    return sorted(
        name
        for name in periods
        if name in schedules
        and schedules[name].get("enabled")
        and not schedules[name].get("outcome")
    )


def problems(schedule: dict[str, Any], policy_s: float) -> list[str]:
    """Why one job does not meet the policy; empty when it does."""
    if not schedule.get("enabled"):
        return [f"disabled on the target ({schedule.get('disabled_reason')})"]
    found: list[str] = []
    period = schedule.get("period_s")
    if isinstance(period, (int, float)) and period > policy_s:
        found.append(
            f"configured to run every {period:.10g} s, the policy requires {policy_s:.10g} s"
        )
    outcome = schedule.get("outcome")
    if outcome in FAILED:
        found.append(f"last run {outcome}: {str(schedule.get('error'))[:ERROR_CHARS]}")
    age = schedule.get("age_s")
    if not isinstance(age, (int, float)):
        found.append("never succeeded")
    elif age > policy_s:
        found.append(f"last success {age:.0f} s ago, over the {policy_s:.10g} s period")
    if schedule.get("overdue"):
        found.append("overdue by the target's own judgement")
    return found


def summary(schedule: dict[str, Any]) -> dict[str, Any]:
    """The figures that decided a job, for the evidence."""
    keys = (
        "enabled",
        "period_s",
        "last_run_at",
        "last_success_at",
        "age_s",
        "outcome",
        "error",
        "overdue",
        "runs",
    )
    return {key: schedule.get(key) for key in keys}
