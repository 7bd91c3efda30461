"""The API's face of the scheduler: /health's ``scheduler`` component, the ``platform_scheduled
_job_*`` metrics, and the retention purge route running the same purge as the schedule."""

from __future__ import annotations

import asyncio

import httpx
from redis.asyncio import Redis

from service.scheduler import state
from tests.support.api import KEYS, StartApi

ADMIN = {"Authorization": f"Bearer {KEYS['ops']}"}


def _failed_backup(redis_url: str) -> None:
    async def body() -> None:
        client = Redis.from_url(redis_url, decode_responses=True)
        try:
            run = await state.claim(client, "backup", 86_400.0, "w-test", lease_s=5.0)
            assert run is not None
            await state.finish(client, run, "failed", error="OSError: disk full", retry_s=300.0)
        finally:
            await client.aclose()

    asyncio.run(body())


def test_health_and_metrics_report_schedules(start_api: StartApi) -> None:
    """A fresh deployment: every schedule listed, declared, not overdue; a failed backup makes
    the component degraded and shows in the metrics."""
    api = start_api()
    with httpx.Client(base_url=api.url, timeout=10) as http:
        component = http.get("/health").json()["components"]["scheduler"]
        assert component["status"] == "ok" and component["enabled"] is True
        schedules = component["schedules"]
        assert set(schedules) == {"arxiv_poll", "backup", "retention_purge"}
        assert schedules["arxiv_poll"]["enabled"] is False  # no arxiv_url configured
        assert schedules["backup"]["period_s"] == 86_400.0 and schedules["backup"]["ok"]
        assert schedules["backup"]["last_run_at"] is None and not schedules["backup"]["overdue"]
        _failed_backup(api.settings.redis_url)
        health = http.get("/health").json()
        component = health["components"]["scheduler"]
        backup = component["schedules"]["backup"]
        assert health["status"] == "degraded" and component["not_ok"] == ["backup"]
        assert backup["outcome"] == "failed" and backup["error"] == "OSError: disk full"
        assert backup["last_run_at"] is not None and backup["age_s"] is None
        metrics = http.get("/metrics").text
    assert 'platform_scheduled_job_last_run_ok{schedule="backup"} 0.0' in metrics
    assert 'platform_scheduled_job_last_success_timestamp_seconds{schedule="backup"} 0.0' in metrics
    assert 'platform_scheduled_job_period_seconds{schedule="retention_purge"} 86400.0' in metrics
    assert 'platform_scheduled_job_failures_total{schedule="backup"} 1.0' in metrics


def test_purge_route_reports_records(start_api: StartApi) -> None:
    """POST /admin/retention/purge runs the whole purge: documents and job records."""
    api = start_api()
    with httpx.Client(base_url=api.url, timeout=10) as http:
        answer = http.post("/admin/retention/purge", json={"dry_run": True}, headers=ADMIN)
    body = answer.json()
    assert answer.status_code == 200 and body["dry_run"] is True
    assert body["records"] == {"dead_letters_expired": 0, "job_records_ttl_set": 0}
    assert body["purged"]["upload"] == 0
