"""The workers' own process figures (memory, CPU, start) on the API's ``/metrics``.

Workers expose no HTTP port, so Prometheus cannot scrape them; yet a release gate must see every
process's memory and restarts on a deployment whose pids it cannot read. Each worker puts its
process figures into the heartbeat it writes anyway (``own_figures``, read by prometheus_client's
``ProcessCollector`` from ``/proc/self``), and the API exports the live heartbeats per worker at
scrape time. The figures are as old as the heartbeat (one interval), which is what a per-worker
scrape would give too.

Exported: ``platform_workers_alive``, ``platform_worker_resident_memory_bytes{worker}``,
``platform_worker_cpu_seconds_total{worker}``, ``platform_worker_start_time_seconds{worker}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import redis
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from service.keyspace import keys as c

log = logging.getLogger("service.jobs.worker_metrics")
SCRAPE_TIMEOUT_S = 1.0  # a scrape must not hang on a stuck Redis; the gauges are left out instead
# prometheus_client's names (its counter family drops the _total suffix) -> heartbeat fields.
_FIGURES = {
    "process_resident_memory_bytes": "rss_bytes",
    "process_cpu_seconds": "cpu_s",
    "process_start_time_seconds": "process_started_at",
}
_OWN = ProcessCollector(registry=None)


def own_figures() -> dict[str, float]:
    """This process's RSS, CPU seconds and start time; {} where /proc is not available."""
    return {
        _FIGURES[m.name]: float(m.samples[0].value)
        for m in _OWN.collect()
        if m.name in _FIGURES and m.samples
    }


class WorkerProcessCollector(Collector):
    """Reads the live workers' heartbeats from the Redis at ``redis_url`` on each scrape."""

    def __init__(self) -> None:
        self.redis_url: str | None = None
        self._client: redis.Redis | None = None

    def bind(self, redis_url: str) -> None:
        """Point the collector at a datastore (the API's, at startup)."""
        if redis_url != self.redis_url:
            self.redis_url = redis_url
            self._client = redis.Redis.from_url(
                redis_url,
                decode_responses=True,
                socket_timeout=SCRAPE_TIMEOUT_S,
                socket_connect_timeout=SCRAPE_TIMEOUT_S,
            )

    def collect(self) -> Iterator[Metric]:
        if self._client is None:
            return
        try:
            ids = [str(i) for i in self._client.zrange(c.WORKERS_KEY, 0, -1)]
            bodies = self._client.mget([c.heartbeat_key(i) for i in ids]) if ids else []
        except redis.RedisError as exc:
            log.warning("worker metrics unavailable: %s", type(exc).__name__)
            return
        beats = [json.loads(b) for b in bodies if b is not None]
        yield GaugeMetricFamily(
            "platform_workers_alive", "Workers with a live heartbeat.", value=len(beats)
        )
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            "rss_bytes": GaugeMetricFamily(
                "platform_worker_resident_memory_bytes",
                "Resident memory of each worker process, from its heartbeat.",
                labels=["worker"],
            ),
            "cpu_s": CounterMetricFamily(
                "platform_worker_cpu_seconds",
                "CPU time (user + system) of each worker process, from its heartbeat.",
                labels=["worker"],
            ),
            "process_started_at": GaugeMetricFamily(
                "platform_worker_start_time_seconds",
                "Start of each worker process (Unix time), from its heartbeat.",
                labels=["worker"],
            ),
        }
        for beat in beats:
            for field, family in families.items():
                if isinstance(beat.get(field), int | float):
                    family.add_metric([str(beat["id"])], float(beat[field]))
        yield from families.values()


COLLECTOR = WorkerProcessCollector()
REGISTRY.register(COLLECTOR)
