"""Data Consistency: no error records and no failed jobs in the recent processing window.

Reads the API's and the workers' logs (ground truth) for error-level records newer than the
window, and the job counters for jobs that ran out of attempts. Errors the suite induces on
purpose (``ignored_error_types``) and its own probe jobs are not the platform's errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.logfiles import Record, records, worker_logs
from acceptance.support.promtext import scrape

ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
SUITE_JOB_KINDS = frozenset({"probe"})


def _recent_errors(stack: Any, config: SuiteConfig) -> list[Record]:
    since = datetime.now(UTC) - timedelta(seconds=config.observability.recent_window_s)
    ignored = set(config.observability.ignored_error_types)
    out = []
    for record in records(stack, ["app", *worker_logs(stack)]):
        if record.get("level") not in ERROR_LEVELS or record.get("exc_type") in ignored:
            continue
        try:
            when = datetime.fromisoformat(str(record.get("ts")))
        except ValueError:
            continue
        if when >= since:
            out.append(record)
    return out


@pytest.mark.checklist("data.no-recent-errors")
def test_no_recent_processing_errors(
    anon_client: httpx.Client, stack: Any, config: SuiteConfig, evidence: Evidence
) -> None:
    """Error records in the window and dead (non-probe) jobs are under their thresholds."""
    errors = _recent_errors(stack, config)
    dead = {
        f"{s.labels.get('kind')}/{s.labels.get('queue')}": s.value
        for s in scrape(anon_client)
        if s.name == "platform_jobs_total"
        and s.labels.get("outcome") == "dead"
        and s.labels.get("kind") not in SUITE_JOB_KINDS
        and s.value > 0
    }
    o = config.observability
    evidence.add(
        window_s=o.recent_window_s,
        error_records=len(errors),
        examples=[
            {k: r.get(k) for k in ("ts", "_file", "logger", "message", "exc_type")}
            for r in errors[:3]
        ],
        dead_jobs=dead,
        thresholds={"errors": o.recent_errors_max, "dead_jobs": o.failed_jobs_max},
    )
    assert len(errors) <= o.recent_errors_max, (
        f"{len(errors)} error records in the last {o.recent_window_s:g} s"
    )
    assert sum(dead.values()) <= o.failed_jobs_max, f"failed jobs: {dead}"
