"""``POST /enqueue`` and ``GET /status/{id}`` over HTTP: statuses, errors, idempotency, limits."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import KEYS, StartApi

API = {"Authorization": f"Bearer {KEYS['ci']}"}
ADMIN = {"X-API-Key": KEYS["ops"]}


@pytest.fixture
def jobs(start_api: StartApi) -> Iterator[httpx.Client]:
    """The app with a hot limit of 2 and no rate limit (no worker: jobs stay queued)."""
    api = start_api(queue_max_length={"hot": 2}, rate_limit_enabled=False)
    with httpx.Client(base_url=api.url, timeout=10) as client:
        yield client


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    error: dict[str, str] = response.json()["error"]
    return error


def test_enqueue_accepts_and_status_reads_the_record(jobs: httpx.Client) -> None:
    """202 with job_id/status/queue; /status answers the full queued record."""
    response = jobs.post("/enqueue", json={"kind": "noop", "queue": "backfill"}, headers=API)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued" and accepted["queue"] == "backfill"
    record = jobs.get(f"/status/{accepted['job_id']}", headers=API).json()
    assert record["job_id"] == accepted["job_id"]
    assert (record["kind"], record["status"], record["attempts"]) == ("noop", "queued", 0)
    assert record["created_at"].endswith("Z") and record["attempt_history"] == []


def test_enqueue_needs_a_key(jobs: httpx.Client) -> None:
    assert jobs.post("/enqueue", json={"kind": "noop"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"kind": "noop", "surprise": 1}, "surprise"),
        ({"kind": "nope"}, "kind"),
        ({"kind": "noop", "queue": "retry"}, "queue"),
        ({"kind": "probe", "payload": {"duration_s": 61}}, "payload.duration_s"),
    ],
)
def test_enqueue_refuses_bad_input_with_422(
    jobs: httpx.Client, body: dict[str, object], param: str
) -> None:
    error = _error(jobs.post("/enqueue", json=body, headers=ADMIN), 422)
    assert error["param"] == param


def test_status_unknown_is_404_and_malformed_is_422(jobs: httpx.Client) -> None:
    assert _error(jobs.get(f"/status/{'0' * 32}", headers=API), 404)["code"] == "job_not_found"
    _error(jobs.get("/status/not-a-job-id", headers=API), 422)


def test_idempotency_key_header_and_field_replay_the_same_job(jobs: httpx.Client) -> None:
    """The same key (header or body field) returns the first job, marked as a replay."""
    first = jobs.post("/enqueue", json={"kind": "noop"}, headers={**API, "Idempotency-Key": "k1"})
    again = jobs.post("/enqueue", json={"kind": "noop", "idempotency_key": "k1"}, headers=API)
    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    mismatch = jobs.post(
        "/enqueue",
        json={"kind": "noop", "idempotency_key": "a"},
        headers={**API, "Idempotency-Key": "b"},
    )
    assert _error(mismatch, 422)["code"] == "idempotency_key_mismatch"


def test_probe_kind_needs_an_admin_key(jobs: httpx.Client) -> None:
    body = {"kind": "probe", "payload": {"tag": "t"}}
    error = _error(jobs.post("/enqueue", json=body, headers=API), 403)
    assert error["code"] == "admin_only_kind"
    assert jobs.post("/enqueue", json=body, headers=ADMIN).status_code == 202


def test_full_queue_answers_429_with_retry_after(jobs: httpx.Client) -> None:
    """Past the limit: 429 + Retry-After, nothing accepted; the other queue is unaffected."""
    for _ in range(2):
        assert jobs.post("/enqueue", json={"kind": "noop"}, headers=API).status_code == 202
    refused = jobs.post("/enqueue", json={"kind": "noop"}, headers=API)
    error = _error(refused, 429)
    assert (error["type"], error["code"]) == ("overloaded_error", "queue_full")
    assert refused.headers["retry-after"].isdigit()
    other = jobs.post("/enqueue", json={"kind": "noop", "queue": "backfill"}, headers=API)
    assert other.status_code == 202
