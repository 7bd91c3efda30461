"""Data Consistency: no error records and no failed jobs in the recent processing window.

Reads the API's and the workers' records (the run's log source: the stack's files or
``[logs] command``) for error-level records newer than the window, and the job counters for jobs
that ran out of attempts. Errors the suite induces on purpose (``ignored_error_types``) and its
own probe jobs are not the platform's errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.logs import LogSource, Record, read_logs
from acceptance.support.platform_metrics import platform_metrics

ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
SUITE_JOB_KINDS = frozenset({"probe"})


def _recent_errors(log_source: LogSource, config: SuiteConfig) -> list[Record]:
    since = datetime.now(UTC) - timedelta(seconds=config.observability.recent_window_s)
    ignored = set(config.observability.ignored_error_types)
    batch = read_logs(log_source, since, streams=["app", "worker"])
    return [
        r
        for r in batch.records
        if r.get("level") in ERROR_LEVELS and r.get("exc_type") not in ignored and r.get("ts")
    ]


@pytest.mark.checklist("data.no-recent-errors")
def test_no_recent_processing_errors(
    anon_client: httpx.Client,
    target: Target,
    log_source: LogSource,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Error records in the window and dead (non-probe) jobs are under their thresholds."""
    errors = _recent_errors(log_source, config)
    # Job counters live in the shared Redis: every process exports the same, read once.
    dead = {
        f"{s.labels.get('kind')}/{s.labels.get('queue')}": s.value
        for s in platform_metrics(target, config, anon_client).shared()
        if s.name == "platform_jobs_total"
        and s.labels.get("outcome") == "dead"
        and s.labels.get("kind") not in SUITE_JOB_KINDS
        and s.value > 0
    }
    o = config.observability
    evidence.add(
        window_s=o.recent_window_s,
        log_source=log_source.describe(),
        error_records=len(errors),
        examples=[
            {k: r.get(k) for k in ("ts", "_source", "logger", "message", "exc_type")}
            for r in errors[:3]
        ],
        dead_jobs=dead,
        thresholds={"errors": o.recent_errors_max, "dead_jobs": o.failed_jobs_max},
    )
    assert len(errors) <= o.recent_errors_max, (
        f"{len(errors)} error records in the last {o.recent_window_s:g} s"
    )
    assert sum(dead.values()) <= o.failed_jobs_max, f"failed jobs: {dead}"
