"""Data Consistency: the ingestion report an operator reads is unambiguous and agrees with itself.

data.recent-processed reads the ``ingestion`` component of /health to decide whether recent data
was processed; the operator reads the same component when it alerts. Its figures must be
readable without knowing the server's time zone, and its verdict must follow from its own
figures: a stuck poller shows only if the age of the last success is computed and compared
with the staleness window it states.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import not_verified
from acceptance.support.api import health

STAMPS = ("last_poll_success_at", "last_request_at", "last_webhook_at", "last_job_completed_at")
# The stamps are written to the second (timespec="seconds"): an age computed from one may
# differ from the reported age by up to a second each way.
STAMP_RESOLUTION_S = 1.0


def _aware(value: Any) -> datetime | None:
    """The stamp as an aware datetime; None when it has no UTC offset (or is not ISO 8601)."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


@pytest.mark.checklist("data.recent-processed")
def test_ingestion_report_consistent(anon_client: httpx.Client, evidence: Evidence) -> None:
    """Every stamp carries its UTC offset; the reported poll age matches checked_at minus the
    last success; the status is degraded exactly when that age exceeds stale_after_s."""
    payload = health(anon_client)
    component = payload["components"].get("ingestion")
    if not isinstance(component, dict):
        not_verified("/health reports no ingestion component")
    evidence.add(ingestion=component, checked_at=payload.get("checked_at"))
    problems = [
        f"{key} {component[key]!r} has no UTC offset"
        for key in STAMPS
        if component.get(key) is not None and _aware(component[key]) is None
    ]
    checked, success = (
        _aware(payload.get("checked_at")),
        _aware(component.get("last_poll_success_at")),
    )
    age, window = component.get("last_poll_age_s"), component.get("stale_after_s")
    if not isinstance(window, int | float):
        problems.append(f"no staleness window (stale_after_s: {window!r})")
    if success is not None and checked is not None:
        expected = (checked - success).total_seconds()
        if not isinstance(age, int | float) or abs(age - expected) > 2 * STAMP_RESOLUTION_S:
            problems.append(f"last_poll_age_s {age!r}, checked_at - last success {expected:.1f}")
        elif isinstance(window, int | float) and component.get("arxiv_enabled"):
            stale = age > window
            if (component.get("status") == "degraded") != stale:
                problems.append(
                    f"status {component.get('status')!r} with age {age} s, window {window} s"
                )
    assert not problems, f"the ingestion report is inconsistent: {problems}"
