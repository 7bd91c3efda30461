"""Core Endpoints: POST /enqueue accepts jobs and GET /status/{job_id} follows them truthfully."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import enqueue, wait_job

INVALID_BODIES = {
    "missing kind": {"queue": "hot", "payload": {}},
    "unknown kind": {"kind": "no-such-kind", "queue": "hot", "payload": {}},
    "wrong queue": {"kind": "noop", "queue": "urgent", "payload": {}},
    "wrong type": {"kind": "noop", "queue": "hot", "payload": "not an object"},
    "unknown field": {"kind": "noop", "queue": "hot", "payload": {}, "priority": 9},
}


@pytest.mark.checklist("endpoints.enqueue")
def test_valid_job_accepted(client: httpx.Client, evidence: Evidence) -> None:
    """A valid job gets 202 with a job id and the queue it went to."""
    response = client.post("/enqueue", json={"kind": "noop", "queue": "backfill", "payload": {}})
    evidence.add(status=response.status_code, body=response.json())
    assert response.status_code == 202, f"{response.status_code}: {response.text[:300]}"
    body = response.json()
    assert body.get("job_id"), "no job id in the answer"
    assert body.get("queue") == "backfill" and body.get("status") == "queued", body


@pytest.mark.checklist("endpoints.enqueue")
def test_invalid_payloads_refused_with_422(client: httpx.Client, evidence: Evidence) -> None:
    """Each kind of invalid payload is refused with 422 and a JSON error body."""
    answers: dict[str, int] = {}
    for name, body in INVALID_BODIES.items():
        response = client.post("/enqueue", json=body)
        answers[name] = response.status_code
        assert response.headers.get("content-type", "").startswith("application/json"), name
        assert "error" in response.json(), f"{name}: no error object in {response.text[:200]}"
    garbage = client.post(
        "/enqueue", content=b"{not json", headers={"content-type": "application/json"}
    )
    answers["garbage JSON"] = garbage.status_code
    evidence.add(answers=answers)
    wrong = {name: code for name, code in answers.items() if code != 422}
    assert not wrong, f"expected 422, got {wrong}"


@pytest.mark.checklist("endpoints.enqueue")
def test_idempotency_key_returns_same_job(client: httpx.Client, evidence: Evidence) -> None:
    """The same idempotency key (body field or header) gives back the same job, not a second one."""
    key = f"preflight-{uuid.uuid4().hex}"
    first = enqueue(client, idempotency_key=key)
    second = enqueue(client, idempotency_key=key)
    header_key = f"preflight-{uuid.uuid4().hex}"
    by_header = [
        client.post(
            "/enqueue",
            json={"kind": "noop", "payload": {}},
            headers={"Idempotency-Key": header_key},
        )
        for _ in range(2)
    ]
    ids = [r.json().get("job_id") for r in by_header]
    evidence.add(body_key_ids=[first["job_id"], second["job_id"]], header_key_ids=ids)
    assert first["job_id"] == second["job_id"], "same idempotency key produced two jobs"
    assert all(r.status_code == 202 for r in by_header), [r.status_code for r in by_header]
    assert ids[0] == ids[1], "same Idempotency-Key header produced two jobs"


def _timestamps_ordered(record: dict[str, object]) -> bool:
    stamps = [record.get(k) for k in ("created_at", "started_at", "finished_at")]
    if not all(isinstance(s, str) for s in stamps):
        return False
    times = [datetime.fromisoformat(str(s)) for s in stamps]
    return times == sorted(times)


@pytest.mark.checklist("endpoints.status")
def test_job_followed_to_success(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """A job is seen queued or running, then succeeded, with one attempt and ordered timestamps."""
    accepted = enqueue(admin_client, "probe", payload={"duration_s": 1.0, "tag": "status"})
    seen: list[str] = []
    record = wait_job(
        admin_client, accepted["job_id"], timeout=config.job_wait_timeout_s, seen=seen
    )
    evidence.add(
        statuses_seen=seen,
        attempts=record["attempts"],
        created_at=record["created_at"],
        finished_at=record["finished_at"],
    )
    assert record["status"] == "succeeded", f"ended {record['status']}: {record.get('error')}"
    assert "running" in seen, f"never saw the job running: {seen}"
    assert record["attempts"] == 1, f"{record['attempts']} attempts for a job that cannot fail"
    assert _timestamps_ordered(record), f"timestamps missing or out of order: {record}"


@pytest.mark.checklist("endpoints.status")
def test_failing_job_reported_failed(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """A job that fails its first attempt is reported failed with the error, then succeeds."""
    accepted = enqueue(admin_client, "probe", payload={"fail_times": 1, "tag": "status-fail"})
    seen: list[str] = []
    failed = wait_job(
        admin_client,
        accepted["job_id"],
        statuses={"failed"},
        timeout=config.job_wait_timeout_s,
        seen=seen,
    )
    final = wait_job(admin_client, accepted["job_id"], timeout=config.job_wait_timeout_s, seen=seen)
    evidence.add(statuses_seen=seen, error=failed["error"], attempts=final["attempts"])
    assert failed["error"], "failed job carries no error"
    assert final["status"] == "succeeded" and final["attempts"] == 2, final


@pytest.mark.checklist("endpoints.status")
def test_unknown_and_malformed_ids(client: httpx.Client, evidence: Evidence) -> None:
    """An unknown job id gives 404, a malformed one 422 (or an ingress's 400, for a path that
    climbs above the root once decoded); both as JSON errors."""
    unknown = client.get(f"/status/{uuid.uuid4().hex}")
    malformed = client.get("/status/..%2F..%2Fetc%2Fpasswd")
    evidence.add(unknown=unknown.status_code, malformed=malformed.status_code)
    assert unknown.status_code == 404 and "error" in unknown.json()
    assert malformed.status_code in (400, 404, 422) and "error" in malformed.json()
