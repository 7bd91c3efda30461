"""Health, readiness, version and settings refusal, against a real (or deliberately dead) Valkey."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from service import SCHEMA_VERSION, __version__
from service.jobs.heartbeat import WorkerInfo, write_heartbeat
from service.settings import Settings
from service.stack.ports import free_port
from tests.support.api import KEYS, StartApi

COMPONENTS = {"redis", "queues", "workers", "disk", "schema", "documents", "ingestion", "scheduler"}


def _get(url: str, path: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=10) as client:
        return client.get(path)


def test_health_ok_with_redis_up(start_api: StartApi) -> None:
    """All components ok: /health and /health/ready 200 with the documented body."""
    api = start_api()
    response = _get(api.url, "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok", body
    assert body["version"] == __version__ and body["schema_version"] == SCHEMA_VERSION
    assert body["environment"] == "local"
    assert set(body["components"]) == COMPONENTS
    comps = body["components"]
    assert comps["redis"]["latency_ms"] >= 0
    assert comps["queues"]["depths"] == {"hot": 0, "backfill": 0, "retry": 0, "dead": 0}
    assert comps["queues"]["limits"] == {"hot": 1000, "backfill": 10000}
    assert comps["schema"] == {"status": "ok", "api": 1, "datastore": 1, "workers": {}}
    assert 0 < comps["disk"]["free_ratio"] <= 1
    assert _get(api.url, "/health/ready").status_code == 200
    assert _get(api.url, "/health/live").json() == {"status": "ok"}


def test_health_lists_workers(start_api: StartApi) -> None:
    """A worker heartbeat shows in the workers and schema components."""
    api = start_api(workers_min=1)
    assert _get(api.url, "/health/ready").status_code == 503  # no worker yet
    info = WorkerInfo(
        id="w1",
        pid=4242,
        age_s=0.0,
        version=__version__,
        schema_version=SCHEMA_VERSION,
        jobs_done=3,
    )

    async def beat() -> None:
        client = Redis.from_url(api.settings.redis_url, decode_responses=True)
        try:
            await write_heartbeat(client, api.settings, info)
        finally:
            await client.aclose()

    asyncio.run(beat())
    body = _get(api.url, "/health").json()
    workers = body["components"]["workers"]
    assert workers["status"] == "ok" and workers["alive"] == 1
    assert workers["workers"][0]["id"] == "w1" and workers["workers"][0]["pid"] == 4242
    assert body["components"]["schema"]["workers"] == {"w1": SCHEMA_VERSION}
    assert _get(api.url, "/health/ready").status_code == 200


def test_health_degraded_when_redis_unreachable(start_api: StartApi) -> None:
    """Nothing listens on the Redis port: /health 200 degraded, ready 503, auth still works."""
    api = start_api(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    response = _get(api.url, "/health")
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["redis"]["status"] == "down"
    assert body["components"]["workers"]["status"] == "down"
    assert _get(api.url, "/health/ready").status_code == 503
    with httpx.Client(base_url=api.url, timeout=10) as client:
        assert client.get("/_probe/whoami").status_code == 401
        ok = client.get("/_probe/whoami", headers={"X-API-Key": KEYS["ci"]})
        assert ok.status_code == 200  # the rate limiter fails open, loudly


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) but never answers: a hung Redis."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def test_health_answers_within_deadline_when_redis_hangs(
    start_api: StartApi, silent_port: int
) -> None:
    """Each check has its own timeout: a hung datastore cannot hang /health."""
    api = start_api(redis_url=f"redis://127.0.0.1:{silent_port}/0")
    started = time.monotonic()
    response = _get(api.url, "/health")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["components"]["redis"] == {
        "status": "down",
        "error": "timeout",
        "latency_ms": None,
    }
    assert elapsed < 3.0


def test_version(start_api: StartApi) -> None:
    api = start_api(build_commit="abc123", build_time="2026-01-01T00:00:00Z")
    assert _get(api.url, "/version").json() == {
        "version": __version__,
        "commit": "abc123",
        "build_time": "2026-01-01T00:00:00Z",
        "schema_version": SCHEMA_VERSION,
    }


@pytest.mark.parametrize(
    ("api_keys", "admin_keys", "problem"),
    [
        ({}, {"ops": KEYS["ops"]}, "API_KEYS is empty"),
        ({"ci": KEYS["ci"]}, {}, "ADMIN_KEYS is empty"),
        ({"ci": "changeme"}, {"ops": KEYS["ops"]}, "known default"),
        ({"ci": KEYS["ci"]}, {"ops": "short-key"}, "shorter than"),
    ],
)
def test_settings_refuse_missing_or_weak_keys(
    api_keys: dict[str, str], admin_keys: dict[str, str], problem: str
) -> None:
    """The service cannot even be configured without real keys."""
    with pytest.raises(ValidationError, match=problem):
        Settings(api_keys=api_keys, admin_keys=admin_keys)  # type: ignore[arg-type]  # pydantic coerces str to SecretStr


@pytest.mark.parametrize("limit", ["lots", "", "5/minute;100/hour"])
def test_settings_refuse_bad_rate_limit(limit: str) -> None:
    """A rate limit the limiter cannot use is refused at startup, not on the first request."""
    with pytest.raises(ValidationError, match="rate limit"):
        Settings(api_keys={"ci": KEYS["ci"]}, admin_keys={"ops": KEYS["ops"]}, rate_limit=limit)  # type: ignore[arg-type]  # pydantic coerces str to SecretStr


@pytest.mark.parametrize(
    ("limits", "problem"),
    [({"ci": "lots"}, "rate limit"), ({"nobody": "5/minute"}, "unknown key ids")],
)
def test_settings_refuse_bad_rate_limit_overrides(limits: dict[str, str], problem: str) -> None:
    """A per-key limit must parse and name a configured key (else a typo goes unnoticed)."""
    with pytest.raises(ValidationError, match=problem):
        Settings(
            api_keys={"ci": KEYS["ci"]},
            admin_keys={"ops": KEYS["ops"]},  # type: ignore[arg-type]  # pydantic coerces str to SecretStr
            rate_limit_overrides=limits,
        )
