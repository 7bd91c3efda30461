"""Admin job routes over HTTP: queue state, pause/resume, dead letters and requeue."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest

from service.waiting import poll_until
from tests.support.api import KEYS, LiveServer, StartApi
from tests.support.jobs import worker_thread

API = {"Authorization": f"Bearer {KEYS['ci']}"}
ADMIN = {"Authorization": f"Bearer {KEYS['ops']}"}
BOTH = {"queues": ["hot", "backfill"]}


@pytest.fixture
def api(start_api: StartApi) -> LiveServer:
    """Fast retries, two attempts, a hot limit of 3; no rate limit (tests poll)."""
    return start_api(
        queue_max_length={"hot": 3},
        rate_limit_enabled=False,
        retry_base_s=0.05,
        retry_jitter=0.0,
        job_max_attempts=2,
        worker_heartbeat_s=0.3,
    )


@pytest.fixture
def admin(api: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=10, headers=ADMIN) as client:
        yield client


def _queues(admin: httpx.Client) -> dict[str, dict[str, Any]]:
    response = admin.get("/admin/queues")
    assert response.status_code == 200, response.text
    queues: dict[str, dict[str, Any]] = response.json()["queues"]
    return queues


def _job(admin: httpx.Client, job_id: str, *statuses: str) -> dict[str, Any] | None:
    record: dict[str, Any] = admin.get(f"/status/{job_id}").json()
    return record if record["status"] in statuses else None


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/admin/queues", None),
        ("POST", "/admin/queues/pause", BOTH),
        ("POST", "/admin/queues/resume", BOTH),
        ("GET", "/admin/dead-letters", None),
        ("POST", f"/admin/dead-letters/{'0' * 32}/requeue", None),
        ("GET", "/admin/jobs/integrity", None),
    ],
)
def test_admin_job_routes_refuse_ordinary_keys(
    admin: httpx.Client, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = admin.request(method, path, json=body, headers=API)
    assert response.status_code == 403, response.text
    assert admin.request(method, path, json=body, headers={"Authorization": ""}).status_code == 401


def test_job_integrity_shape(admin: httpx.Client) -> None:
    """A fresh queue is consistent; the report names its three checks and the deadline."""
    admin.post("/enqueue", json={"kind": "noop"}).raise_for_status()
    report = admin.get("/admin/jobs/integrity").json()
    assert report["ok"] is True and report["unfinished"] == 1, report
    assert set(report["checks"]) == {"records", "entries", "in_flight"}
    assert report["recovery_deadline_s"] == pytest.approx(0.3 * 3 + 30.0, abs=0.01)


def test_queue_state_shape_and_limits(admin: httpx.Client) -> None:
    """GET /admin/queues: depth, size, limit (0 = unlimited), paused, for every queue."""
    queues = _queues(admin)
    assert set(queues) == {"hot", "backfill"}
    assert queues["hot"] == {
        "depth": 0,
        "size": 0,
        "limit": 3,
        "paused": False,
        "pause_expires_in_s": None,
    }
    assert queues["backfill"]["limit"] == 10_000


@pytest.mark.parametrize(
    "body",
    [
        {"queues": []},
        {"queues": ["retry"]},
        {"queues": "hot"},
        {},
        {"queues": ["hot"], "ttl": 5},
    ],
)
def test_pause_refuses_bad_bodies(admin: httpx.Client, body: dict[str, Any]) -> None:
    assert admin.post("/admin/queues/pause", json=body).status_code == 422
    assert not _queues(admin)["hot"]["paused"]


def test_paused_queue_fills_to_its_limit_then_resumes(api: LiveServer, admin: httpx.Client) -> None:
    """The acceptance check's path: pause, fill past the limit (depth == size == limit, 429),
    resume, and every accepted job runs."""
    with worker_thread(api.settings):
        paused = admin.post("/admin/queues/pause", json={"queues": ["hot"]})
        assert paused.status_code == 200, paused.text
        assert paused.json()["queues"]["hot"]["paused"] is True
        assert paused.json()["queues"]["backfill"]["paused"] is False
        answers = [admin.post("/enqueue", json={"kind": "noop"}) for _ in range(5)]
        assert [r.status_code for r in answers] == [202, 202, 202, 429, 429]
        hot = _queues(admin)["hot"]
        assert (hot["depth"], hot["size"], hot["limit"]) == (3, 3, 3)
        resumed = admin.post("/admin/queues/resume", json=BOTH)
        assert resumed.status_code == 200 and resumed.json()["queues"]["hot"]["paused"] is False
        for response in answers[:3]:
            job_id = response.json()["job_id"]
            poll_until(
                partial(_job, admin, job_id, "succeeded"),
                timeout=10,
                interval=0.02,
                message=f"job {job_id}",
            )
        assert _queues(admin)["hot"]["size"] == 0


def test_dead_letters_listed_and_requeued(api: LiveServer, admin: httpx.Client) -> None:
    """An always-failing probe is listed dead; requeue 202 resets it, a second requeue is 409."""
    body = {"kind": "probe", "queue": "backfill", "payload": {"always_fail": True}}
    job_id = admin.post("/enqueue", json=body).json()["job_id"]
    with worker_thread(api.settings):
        dead = poll_until(
            lambda: _job(admin, job_id, "dead"), timeout=10, interval=0.02, message="the job to die"
        )
    assert dead["attempts"] == 2 and dead["error"]
    listing = admin.get("/admin/dead-letters").json()
    assert listing["total"] == 1 and listing["items"][0]["job_id"] == job_id
    requeued = admin.post(f"/admin/dead-letters/{job_id}/requeue")
    assert requeued.status_code == 202, requeued.text
    assert (requeued.json()["status"], requeued.json()["attempts"]) == ("queued", 0)
    assert admin.get("/admin/dead-letters").json()["total"] == 0
    again = admin.post(f"/admin/dead-letters/{job_id}/requeue")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_not_dead"
    assert admin.post(f"/admin/dead-letters/{'0' * 32}/requeue").status_code == 404


def test_dead_letters_discarded_when_disabled(start_api: StartApi) -> None:
    """dead_letter_enabled=False: the job ends dead but the listing stays empty."""
    api = start_api(
        dead_letter_enabled=False,
        rate_limit_enabled=False,
        retry_base_s=0.05,
        job_max_attempts=1,
        worker_heartbeat_s=0.3,
    )
    with (
        httpx.Client(base_url=api.url, timeout=10, headers=ADMIN) as admin,
        worker_thread(api.settings),
    ):
        body = {"kind": "probe", "payload": {"always_fail": True}}
        job_id = admin.post("/enqueue", json=body).json()["job_id"]
        poll_until(
            lambda: _job(admin, job_id, "dead"), timeout=10, interval=0.02, message="the job to die"
        )
        assert admin.get("/admin/dead-letters").json() == {"items": [], "total": 0}
