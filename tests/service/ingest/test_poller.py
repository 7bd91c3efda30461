"""The arXiv cadence: slots shared through Redis, backoff, feed parsing, settings validation."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr, ValidationError

from service.ingest.throttle import LocalThrottle, RedisThrottle
from service.keyspace import keys as c
from service.settings import Settings

INTERVAL_S = 0.3  # the production floor is 3 s; the mechanism is the same at any interval


async def _requests(redis_url: str, processes: int, each: int, local: bool) -> list[float]:
    """``processes`` independent clients (own connection, own throttle) each 'sending' ``each``
    requests; the start times of all of them."""
    starts: list[float] = []

    async def client() -> None:
        conn = aioredis.Redis.from_url(redis_url, decode_responses=True)
        throttle = (
            LocalThrottle(INTERVAL_S)
            if local
            else RedisThrottle(conn, INTERVAL_S, request_timeout_s=5)
        )
        try:
            for _ in range(each):
                async with throttle.slot():
                    starts.append(time.time())
                    await asyncio.sleep(0.01)  # the request itself
        finally:
            await conn.aclose()

    conn = aioredis.Redis.from_url(redis_url)
    await conn.delete(c.ARXIV_NEXT_SLOT_KEY, c.ARXIV_NOT_BEFORE_KEY, c.ARXIV_INFLIGHT_KEY)
    await conn.aclose()
    await asyncio.gather(*(client() for _ in range(processes)))
    return sorted(starts)


def test_shared_slots_keep_interval(redis_server: str) -> None:
    """Three clients never start two requests closer than the interval."""
    starts = asyncio.run(_requests(redis_server, 3, 3, local=False))
    closest = min(b - a for a, b in pairwise(starts))
    assert len(starts) == 9 and closest >= INTERVAL_S, closest


def test_local_throttle_breaks_with_several_clients(redis_server: str) -> None:
    """The per-process throttle (the fault the cadence check catches) lets clients collide."""
    starts = asyncio.run(_requests(redis_server, 3, 2, local=True))
    assert min(b - a for a, b in pairwise(starts)) < INTERVAL_S


def test_back_off_delays_everyone(redis_server: str) -> None:
    async def go() -> float:
        conn = aioredis.Redis.from_url(redis_server, decode_responses=True)
        await conn.delete(c.ARXIV_NEXT_SLOT_KEY, c.ARXIV_NOT_BEFORE_KEY)
        throttle = RedisThrottle(conn, INTERVAL_S, request_timeout_s=5)
        await throttle.back_off(0.6)
        other = RedisThrottle(conn, INTERVAL_S, request_timeout_s=5)
        started = time.monotonic()
        async with other.slot():
            waited = time.monotonic() - started
        await conn.aclose()
        return waited

    assert asyncio.run(go()) >= 0.55


@pytest.mark.parametrize("value", [0.5, 2.99])
def test_interval_below_three_seconds_refused(value: float) -> None:
    with pytest.raises(ValidationError, match="arxiv_min_interval_s"):
        Settings(
            api_keys={"a": SecretStr("k" * 30)},
            admin_keys={"b": SecretStr("m" * 30)},
            arxiv_min_interval_s=value,
        )
