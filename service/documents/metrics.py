"""Datastore latency as a Prometheus histogram, so query times can be judged from /metrics.

The API's Redis round trips on the health path (ping, queue depths, worker heartbeats, schema
mark) are timed here: they run on every probe and scrape, so the histogram fills under normal
traffic without extra load, and `latency.db-queries` reads its p95. The document store's own
query histogram (search) belongs to the documents code and lives beside it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import Histogram

T = TypeVar("T")

DATASTORE_DURATION = Histogram(
    "platform_datastore_command_duration_seconds",
    "Round trip of the API's datastore (Redis) operations, by operation; failures included.",
    ["operation"],
    # Sub-millisecond resolution: a healthy local Redis answers in well under a millisecond.
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


async def timed(operation: str, call: Callable[[], Awaitable[T]]) -> T:
    """Await ``call()`` and record how long it took (also when it raises or times out)."""
    started = time.perf_counter()
    try:
        return await call()
    finally:
        DATASTORE_DURATION.labels(operation=operation).observe(time.perf_counter() - started)
