"""Queue System: transient failures are retried per policy; exhausted jobs land in dead letters."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import (
    admin_settings,
    documented_responses,
    enqueue,
    get_json,
    wait_job,
)


def _gaps_s(history: list[dict[str, str]]) -> list[float]:
    """Seconds between the end of each attempt and the start of the next."""
    return [
        (
            datetime.fromisoformat(nxt["started_at"]) - datetime.fromisoformat(prev["finished_at"])
        ).total_seconds()
        for prev, nxt in itertools.pairwise(history)
    ]


@pytest.mark.checklist("queue.retries")
def test_transient_failure_retried_with_backoff(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """A job failing two or three times succeeds on the next attempt, the waits growing as the
    policy says.

    Three failures when the policy allows four attempts: with a short base delay (the reference
    stack's) the third wait, four times the first, is what tells exponential growth from a
    constant delay plus the worker's retry-poll latency.
    """
    policy = admin_settings(admin_client)
    base, cap, jitter = policy["retry_base_s"], policy["retry_max_s"], policy["retry_jitter"]
    fail_times = 3 if policy["job_max_attempts"] >= 4 else 2
    accepted = enqueue(admin_client, "probe", payload={"fail_times": fail_times, "tag": "retries"})
    record = wait_job(admin_client, accepted["job_id"], timeout=config.job_wait_timeout_s)
    gaps = _gaps_s(record["attempt_history"])
    expected = [min(cap, base * 2**n) for n in range(len(gaps))]
    evidence.add(
        status=record["status"],
        attempts=record["attempts"],
        backoff_s=[round(g, 3) for g in gaps],
        policy={
            "base_s": base,
            "max_s": cap,
            "jitter": jitter,
            "max_attempts": policy["job_max_attempts"],
        },
    )
    assert record["status"] == "succeeded", f"ended {record['status']}: {record.get('error')}"
    assert record["attempts"] == fail_times + 1, (
        f"{record['attempts']} attempts, expected {fail_times + 1}"
    )
    for gap, want in zip(gaps, expected, strict=True):
        low, high = (
            want * (1 - jitter) - config.timing_slack_s / 10,
            want * (1 + jitter) + config.timing_slack_s,
        )
        assert low <= gap <= high, f"backoff {gap:.3f}s outside [{low:.3f}, {high:.3f}] for {want}s"


@pytest.mark.checklist("queue.dead-letter")
def test_exhausted_job_dead_lettered_and_requeued(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """An always-failing job is dead after max attempts, with its error, listed, requeueable;
    a job that is not dead is refused (409) and an unknown one is not found (404): a requeue
    must never run a finished job twice."""
    finished = enqueue(admin_client)["job_id"]
    wait_job(admin_client, finished, timeout=config.job_wait_timeout_s)
    not_dead = admin_client.post(f"/admin/dead-letters/{finished}/requeue")
    unknown = admin_client.post(f"/admin/dead-letters/{uuid.uuid4().hex}/requeue")
    declared = documented_responses(admin_client).get(
        ("POST", "/admin/dead-letters/{job_id}/requeue"), set()
    )
    evidence.add(
        requeue_not_dead=not_dead.status_code,
        requeue_unknown=unknown.status_code,
        requeue_documented=sorted(declared),
    )
    assert not_dead.status_code == 409, (
        f"requeue of a finished job: {not_dead.status_code} {not_dead.text[:200]} (409 expected)"
    )
    assert unknown.status_code == 404, (
        f"requeue of an unknown job: {unknown.status_code} {unknown.text[:200]} (404 expected)"
    )
    assert {"404", "409"} <= declared, (
        f"the requeue operation does not declare its refusals 404 and 409: {sorted(declared)}"
    )
    accepted = enqueue(admin_client, "probe", payload={"always_fail": True, "tag": "dead-letter"})
    job_id = accepted["job_id"]
    record = wait_job(admin_client, job_id, timeout=config.job_wait_timeout_s)
    listed = get_json(admin_client, "/admin/dead-letters")
    listed_ids = [item["job_id"] for item in listed["items"]]
    evidence.add(
        status=record["status"],
        attempts=record["attempts"],
        max_attempts=record["max_attempts"],
        error=record["error"],
        dead_letters_total=listed["total"],
    )
    assert record["status"] == "dead", f"job ended {record['status']}, not dead"
    assert record["attempts"] == record["max_attempts"], record
    assert record["error"], "dead job carries no error"
    assert job_id in listed_ids, "dead job is not in the dead-letter listing"
    requeued = admin_client.post(f"/admin/dead-letters/{job_id}/requeue")
    assert requeued.status_code == 202, f"requeue: {requeued.status_code} {requeued.text[:200]}"
    after = get_json(admin_client, f"/status/{job_id}")
    evidence.add(after_requeue={"status": after["status"], "attempts": after["attempts"]})
    assert after["status"] in {"queued", "running", "failed"}, f"requeued job is {after['status']}"
    assert after["attempts"] < record["attempts"], "requeue did not reset attempts"
    ids_now = [i["job_id"] for i in get_json(admin_client, "/admin/dead-letters")["items"]]
    assert job_id not in ids_now or after["status"] == "dead", "requeued job still listed as dead"
