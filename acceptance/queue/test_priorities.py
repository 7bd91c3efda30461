"""Queue System: hot jobs go first, and backfill neither blocks them nor starves.

These checks pause the queues for a moment to build a backlog deterministically (a backlog
that races the workers would make the check flaky), so they are destructive.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import enqueue, wait_job

QUEUES = ["hot", "backfill"]


@contextmanager
def paused(admin_client: httpx.Client) -> Iterator[None]:
    """Both queues paused inside the block, resumed together (one request) on the way out."""
    response = admin_client.post("/admin/queues/pause", json={"queues": QUEUES})
    assert response.status_code == 200, f"pause: {response.status_code} {response.text[:200]}"
    try:
        yield
    finally:
        resumed = admin_client.post("/admin/queues/resume", json={"queues": QUEUES})
        assert resumed.status_code == 200, f"resume: {resumed.status_code} {resumed.text[:200]}"


def _started(record: dict[str, str]) -> datetime:
    return datetime.fromisoformat(record["started_at"])


def _probes(client: httpx.Client, queue: str, count: int, duration_s: float, tag: str) -> list[str]:
    payload = {"duration_s": duration_s, "tag": tag}
    return [enqueue(client, "probe", queue=queue, payload=payload)["job_id"] for _ in range(count)]


def _finish(client: httpx.Client, ids: list[str], timeout: float) -> list[dict[str, str]]:
    return [wait_job(client, job_id, timeout=timeout) for job_id in ids]


@pytest.mark.destructive
@pytest.mark.checklist("queue.hot-priority")
def test_hot_job_overtakes_backfill_backlog(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """A hot job enqueued while a backfill backlog drains starts before the backlog is through."""
    with paused(admin_client):
        backlog = _probes(admin_client, "backfill", config.priority_backlog, 0.2, "backlog")
    hot = _probes(admin_client, "hot", 1, 0.0, "hot")[0]
    records = _finish(admin_client, backlog, config.job_wait_timeout_s)
    hot_record = wait_job(admin_client, hot, timeout=config.job_wait_timeout_s)
    enqueued, started = datetime.fromisoformat(hot_record["created_at"]), _started(hot_record)
    overtaken = sum(1 for r in records if enqueued <= _started(r) < started)
    evidence.add(
        backlog=len(backlog),
        backfill_started_while_hot_waited=overtaken,
        allowed=config.priority_max_overtaken,
        hot_wait_s=round((started - enqueued).total_seconds(), 3),
    )
    assert overtaken <= config.priority_max_overtaken, (
        f"{overtaken} backfill jobs started while the hot job waited"
    )


@pytest.mark.destructive
@pytest.mark.checklist("queue.backfill-nonblocking")
def test_backfill_progresses_under_hot_backlog(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Hot and backfill backlogs released at once: backfill starts before the hot one drains."""
    with paused(admin_client):
        hot = _probes(admin_client, "hot", config.priority_backlog, 0.05, "hot-flood")
        backfill = _probes(admin_client, "backfill", 3, 0.0, "backfill")
    hot_records = _finish(admin_client, hot, config.job_wait_timeout_s)
    backfill_records = _finish(admin_client, backfill, config.job_wait_timeout_s)
    last_hot = max(_started(r) for r in hot_records)
    first_backfill = min(_started(r) for r in backfill_records)
    hot_after = sum(1 for r in hot_records if _started(r) > first_backfill)
    evidence.add(hot_backlog=len(hot), hot_started_after_first_backfill=hot_after)
    assert first_backfill < last_hot, "backfill waited until the whole hot backlog had started"


@pytest.mark.destructive
@pytest.mark.checklist("queue.backfill-nonblocking")
def test_hot_wait_within_sla_under_backfill_load(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Under a saturating backfill load, hot jobs start within the SLA; backfill still finishes."""
    load = _probes(admin_client, "backfill", config.backfill_saturation_jobs, 0.5, "saturate")
    hot = _probes(admin_client, "hot", 5, 0.0, "hot-under-load")
    hot_records = _finish(admin_client, hot, config.job_wait_timeout_s)
    waits = sorted(
        (_started(r) - datetime.fromisoformat(r["created_at"])).total_seconds() for r in hot_records
    )
    load_records = _finish(admin_client, load, config.job_wait_timeout_s)
    evidence.add(
        hot_wait_s=[round(w, 3) for w in waits],
        sla_s=config.hot_wait_sla_s,
        backfill_succeeded=sum(r["status"] == "succeeded" for r in load_records),
    )
    assert waits[-1] <= config.hot_wait_sla_s, (
        f"hot wait {waits[-1]:.2f}s over SLA {config.hot_wait_sla_s}s"
    )
    assert all(r["status"] == "succeeded" for r in load_records), "backfill jobs did not all finish"
