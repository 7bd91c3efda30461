"""Job metrics for Prometheus, read from Redis at scrape time by a custom collector.

Why a collector and not prometheus_client counters in the workers: the jobs run in worker
processes that expose no HTTP port, and a worker's in-memory counters die with it (SIGKILL is an
expected event here). So workers count in Redis, inside the same fenced Lua scripts that record
the outcome (``pf:stats``): a count is exact, survives restarts and is shared by all workers.
The API's ``/metrics`` (a sync route, run in a thread) calls ``collect`` which reads that hash
and the queue depths with a short-timeout synchronous client. Depths are read at scrape time,
so they agree with ``/health`` rather than lagging behind it.

Exposed: ``platform_queue_depth{queue}`` (hot, backfill, retry, dead),
``platform_jobs_total{kind,queue,outcome}`` (succeeded, failed = retry scheduled, dead, lost =
the worker vanished mid-attempt), ``platform_job_duration_seconds{kind,queue}`` (histogram of
attempt run time) and ``platform_job_wait_seconds{queue}`` (histogram, queued to started).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator

import redis
from prometheus_client.core import (
    REGISTRY,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from service.jobs import lua
from service.keyspace import keys as c

log = logging.getLogger("service.jobs.metrics")
SCRAPE_TIMEOUT_S = 1.0  # a scrape must not hang on a stuck Redis; the scrape fails instead


class JobMetricsCollector(Collector):
    """Reads ``pf:stats`` and the queue depths from the Redis at ``redis_url`` on each scrape."""

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
            keys = [c.stream_key(q) for q in c.QUEUES] + [c.RETRY_KEY, c.DEAD_KEY]
            depths = self._client.eval(lua.DEPTHS, len(keys), *keys, c.CONSUMER_GROUP)
            raw = self._client.hgetall(c.STATS_KEY)
            stats = {str(k): str(v) for k, v in raw.items()}  # decode_responses: already str
        except redis.RedisError as exc:
            log.warning("job metrics unavailable: %s", type(exc).__name__)
            return
        gauge = GaugeMetricFamily(
            "platform_queue_depth",
            "Jobs waiting per queue; retry: awaiting backoff; dead: DLQ.",
            labels=["queue"],
        )
        for name, value in zip([*c.QUEUES, "retry", "dead"], depths, strict=True):
            gauge.add_metric([name], float(value))
        yield gauge
        yield from _from_stats(stats)


def _from_stats(stats: dict[str, str]) -> Iterator[Metric]:
    jobs = CounterMetricFamily(
        "platform_jobs",
        "Job attempts ended, by kind, queue and outcome.",
        labels=["kind", "queue", "outcome"],
    )
    hists = {
        "dur": HistogramMetricFamily(
            "platform_job_duration_seconds", "Run time of job attempts.", labels=["kind", "queue"]
        ),
        "wait": HistogramMetricFamily(
            "platform_job_wait_seconds", "Time from queued to started.", labels=["queue"]
        ),
    }
    buckets: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    sums: dict[tuple[str, str], float] = {}
    for field, raw in stats.items():
        head, _, rest = field.partition("|")
        if head == "jobs":
            jobs.add_metric(rest.split("|"), float(raw))
        elif head.endswith("_b"):
            labels, _, le = rest.rpartition("|")
            buckets[(head[:-2], labels)].append((le, float(raw)))
        elif head.endswith("_sum"):
            sums[(head[:-4], rest)] = float(raw)
    yield jobs
    for (name, labels), items in sorted(buckets.items()):
        items.sort(key=lambda item: float(item[0]))  # "+Inf" parses as inf: sorts last
        hists[name].add_metric(labels.split("|"), items, sums.get((name, labels), 0.0))
    yield from hists.values()


COLLECTOR = JobMetricsCollector()
REGISTRY.register(COLLECTOR)
