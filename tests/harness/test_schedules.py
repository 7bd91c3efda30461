"""The rules of post24h.scheduled-jobs on hand-written /health schedules (no target needed)."""

from __future__ import annotations

from typing import Any

from acceptance.post24h.schedules import awaiting_first_run, problems, reported


def _schedule(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "enabled": True,
        "period_s": 60.0,
        "outcome": "succeeded",
        "age_s": 10.0,
        "overdue": False,
        "error": None,
    }
    return {**base, **fields}


def test_healthy_schedule_has_no_problem() -> None:
    """Enabled, frequent enough, succeeded recently: nothing to report."""
    assert problems(_schedule(), 86_400.0) == []
    assert problems(_schedule(outcome="backed_off"), 900.0) == []


def test_each_rule_names_its_problem() -> None:
    """Off, too rare, failed, lost, never succeeded, too old, overdue: each is a problem."""
    assert problems(_schedule(enabled=False, disabled_reason="x"), 60.0) == [
        "disabled on the target (x)"
    ]
    assert "requires 86400 s" in problems(_schedule(period_s=2_592_000.0), 86_400.0)[0]
    assert problems(_schedule(outcome="failed", error="E" * 500), 86_400.0)[0].startswith(
        "last run failed: EEE"
    )
    assert problems(_schedule(outcome="lost"), 86_400.0)[0].startswith("last run lost")
    assert problems(_schedule(age_s=None), 86_400.0) == ["never succeeded"]
    assert problems(_schedule(age_s=100.0), 60.0) == [
        "last success 100 s ago, over the 60 s period"
    ]
    assert problems(_schedule(overdue=True), 86_400.0) == ["overdue by the target's own judgement"]


def test_waits_only_for_configured_enabled_unfinished() -> None:
    """A fresh target: wait for configured, enabled jobs that have no finished run yet."""
    body = {
        "components": {
            "scheduler": {
                "schedules": {
                    "backup": _schedule(outcome=None),
                    "poll": _schedule(enabled=False, outcome=None),
                    "other": _schedule(outcome=None),
                }
            }
        }
    }
    schedules = reported(body)
    assert awaiting_first_run(schedules, {"backup": 1.0, "poll": 1.0, "gone": 1.0}) == ["backup"]
    assert reported({"components": {}}) == {}
