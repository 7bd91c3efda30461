"""Queue System: past its length limit a queue refuses (429/503, Retry-After), drops nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json, wait_job

QUEUE = "hot"


@pytest.mark.destructive
@pytest.mark.checklist("queue.length-limits")
def test_full_queue_refuses_and_keeps_accepted(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Fill the paused hot queue to its limit and past it: the excess refused, the rest all run."""
    state = get_json(admin_client, "/admin/queues")["queues"][QUEUE]
    limit = int(state["limit"])
    assert limit > 0, f"the {QUEUE} queue has no length limit"
    if limit > config.queue_fill_max:
        not_verified(
            f"limit {limit} above queue_fill_max {config.queue_fill_max}: too large to fill"
        )
    attempts = limit - int(state["size"]) + config.queue_overfill
    body = {"kind": "noop", "queue": QUEUE, "payload": {}}
    assert admin_client.post("/admin/queues/pause", json={"queues": [QUEUE]}).status_code == 200
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(
                pool.map(lambda _: admin_client.post("/enqueue", json=body), range(attempts))
            )
        size_full = get_json(admin_client, "/admin/queues")["queues"][QUEUE]["size"]
    finally:
        assert (
            admin_client.post("/admin/queues/resume", json={"queues": [QUEUE]}).status_code == 200
        )
    accepted = [r.json()["job_id"] for r in answers if r.status_code == 202]
    refused = [r for r in answers if r.status_code in (429, 503)]
    other = sorted({r.status_code for r in answers} - {202, 429, 503})
    evidence.add(
        limit=limit,
        attempted=attempts,
        accepted=len(accepted),
        refused=len(refused),
        size_when_full=size_full,
        other_statuses=other,
        retry_after=sorted({r.headers.get("retry-after") for r in refused}),
    )
    assert not other, f"unexpected answers while filling: {other}"
    assert refused, f"no refusal after {attempts} enqueues against limit {limit}"
    assert size_full == limit, f"{size_full} jobs held at the limit {limit}"
    assert all((r.headers.get("retry-after") or "").isdigit() for r in refused), (
        "refusal without Retry-After"
    )
    unfinished = [
        j
        for j in accepted
        if wait_job(admin_client, j, timeout=config.job_wait_timeout_s)["status"] != "succeeded"
    ]
    assert not unfinished, f"{len(unfinished)} accepted jobs did not run: {unfinished[:5]}"
