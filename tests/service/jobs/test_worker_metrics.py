"""Workers' process figures travel in their heartbeats and leave the API's /metrics per worker
(service/jobs/worker_metrics.py): how a deployment's Prometheus sees processes it cannot scrape."""

from __future__ import annotations

import asyncio
import os

from service.jobs import heartbeat
from service.jobs.worker_metrics import WorkerProcessCollector, own_figures
from tests.support.jobs import connect, fresh_settings


def test_own_figures_are_this_process() -> None:
    figures = own_figures()
    assert figures["rss_bytes"] > 1_000_000 and figures["cpu_s"] > 0
    assert figures["process_started_at"] > 1_000_000_000


def test_heartbeats_exported_per_worker(redis_server: str) -> None:
    """Each live heartbeat gives one sample per figure, labelled with the worker's id."""
    s = fresh_settings(redis_server)

    async def beat() -> None:
        async with connect(s) as r:
            for worker_id in ("w-a", "w-b"):
                info = heartbeat.WorkerInfo(worker_id, os.getpid(), 0.0, "0", 1, 0)
                await heartbeat.write_heartbeat(r, s, info)

    asyncio.run(beat())
    collector = WorkerProcessCollector()
    collector.bind(s.redis_url)
    metrics = {m.name: m for m in collector.collect()}
    assert metrics["platform_workers_alive"].samples[0].value >= 2
    rss = {
        smp.labels["worker"]: smp.value
        for smp in metrics["platform_worker_resident_memory_bytes"].samples
    }
    assert rss["w-a"] > 1_000_000 and rss["w-b"] > 1_000_000
    cpu = {smp.labels["worker"] for smp in metrics["platform_worker_cpu_seconds"].samples}
    assert {"w-a", "w-b"} <= cpu


def test_unbound_collector_exports_nothing() -> None:
    assert list(WorkerProcessCollector().collect()) == []
