"""Ingestion counters and timestamps, kept in Redis (``pf:ingest:stats``) and exposed twice.

Why Redis: the poller and the workers expose no HTTP port and may be restarted at any time, so
they count where the API can read (as the job metrics do). The API's ``/metrics`` reads the hash
at scrape time (``IngestCollector``) and ``/health`` reports the timestamps in its ``ingestion``
component. Fields: ``arxiv_requests``, ``arxiv_backoffs``, ``arxiv_errors``, ``arxiv_entries``
(counters); ``arxiv_last_request``, ``arxiv_last_success``, ``webhook_last_accepted``,
``job_last_completed`` (epoch seconds).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import redis
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from service.keyspace import keys as c

log = logging.getLogger("service.ingest")
SCRAPE_TIMEOUT_S = 1.0
COUNTERS = {
    "arxiv_requests": "arXiv API requests sent (all processes).",
    "arxiv_backoffs": "Times arXiv answered 503/429 and every process backed off.",
    "arxiv_errors": "arXiv requests that failed (network, parse).",
    "arxiv_entries": "New arXiv entries turned into jobs.",
}
TIMESTAMPS = {
    "arxiv_last_request": "When the last arXiv request was sent (epoch s).",
    "arxiv_last_success": "When the last arXiv poll succeeded (epoch s).",
    "webhook_last_accepted": "When the last authenticated webhook was accepted (epoch s).",
    "job_last_completed": "When the last ingestion job stored its document (epoch s).",
}


async def count(client: Redis, field: str, amount: int = 1) -> None:
    await client.hincrby(c.INGEST_STATS_KEY, field, amount)


async def mark(client: Redis, field: str, when: float | None = None) -> None:
    await client.hset(c.INGEST_STATS_KEY, field, f"{when or time.time():.3f}")


async def read(client: Redis) -> dict[str, float]:
    raw = await client.hgetall(c.INGEST_STATS_KEY)
    return {str(k): float(v) for k, v in raw.items()}


class IngestCollector(Collector):
    """``platform_arxiv_*`` and ``platform_ingest_*`` from the Redis hash, at scrape time."""

    def __init__(self) -> None:
        self._client: redis.Redis | None = None
        self._url: str | None = None

    def bind(self, redis_url: str) -> None:
        if redis_url != self._url:
            self._url = redis_url
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
            raw = self._client.hgetall(c.INGEST_STATS_KEY)
        except redis.RedisError as exc:
            log.warning("ingestion metrics unavailable: %s", type(exc).__name__)
            return
        stats = {str(k): float(v) for k, v in raw.items()}
        for field, doc in COUNTERS.items():
            counter = CounterMetricFamily(f"platform_{field}", doc)
            counter.add_metric([], stats.get(field, 0.0))
            yield counter
        for field, doc in TIMESTAMPS.items():
            gauge = GaugeMetricFamily(f"platform_{field}_timestamp_seconds", doc)
            gauge.add_metric([], stats.get(field, 0.0))
            yield gauge


COLLECTOR = IngestCollector()
REGISTRY.register(COLLECTOR)
