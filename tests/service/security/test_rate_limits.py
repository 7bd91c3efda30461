"""Per-key rate limits on a real Valkey: counted hit by hit, and leased in batches.

Several ``RateLimiter`` objects on one Valkey stand for several API processes: each has its own
connections and its own leases, exactly as a process does; only the event loop is shared.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import redis

from service.keyspace.keys import RATE_LIMIT_PREFIX
from service.security.rate_leases import lease_size
from service.security.rate_limits import RateLimiter, RateLimitResult
from service.waiting import apoll_until

LIMIT = "100 per 1 minute"  # one window for the whole test: no timing in the figures
LEASE = 8
PROCESSES = 4
EARLY_MAX = (PROCESSES - 1) * LEASE  # hits idle in the other processes' leases


def _counter(redis_url: str, limit: str, key_id: str) -> int:
    """The shared window counter, read the way an operator would."""
    from limits import parse

    key = f"{RATE_LIMIT_PREFIX}:{parse(limit).key_for(key_id)}"
    return int(redis.Redis.from_url(redis_url).get(key) or 0)


@asynccontextmanager
async def _processes(redis_url: str) -> AsyncIterator[list[RateLimiter]]:
    """PROCESSES "processes" leasing LEASE hits at a time."""
    made = [RateLimiter(redis_url, LEASE) for _ in range(PROCESSES)]
    try:
        yield made
    finally:
        for limiter in made:
            await limiter.aclose()


def _with_processes(redis_url: str, body: Callable[[list[RateLimiter]], Awaitable[None]]) -> None:
    async def run() -> None:
        async with _processes(redis_url) as limiters:
            await body(limiters)

    asyncio.run(run())


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:8]}"


def test_lease_size_is_capped_at_a_tenth_of_the_limit() -> None:
    """Small limits lease little or nothing; 0 and 1 both mean one round trip per hit."""
    assert lease_size(8, 600) == 8
    assert lease_size(8, 20) == 2
    assert lease_size(8, 19) == 1
    assert lease_size(0, 600) == lease_size(1, 600) == 1


def test_concurrent_processes_never_admit_more_than_the_limit(redis_server: str) -> None:
    """Three times the limit, spread at random over four processes and sent concurrently: the
    window admits at most its limit and refuses at most (P - 1) x lease early."""
    key = _key()
    rng = random.Random(15)  # noqa: S311 (a repeatable spread, not a secret)
    results: list[RateLimitResult | None] = []

    async def body(limiters: list[RateLimiter]) -> None:
        picks = [rng.choice(limiters) for _ in range(300)]
        results.extend(await asyncio.gather(*(p.hit(LIMIT, key) for p in picks)))

    _with_processes(redis_server, body)
    admitted = sum(1 for r in results if r is not None and r.allowed)
    assert all(r is not None for r in results)
    assert admitted <= 100
    assert admitted >= 100 - EARLY_MAX
    assert _counter(redis_server, LIMIT, key) <= 100


def test_round_robin_first_refusal_within_bound(redis_server: str) -> None:
    """Sequential hits balanced over the processes (an ingress' round robin): the first 429
    comes no earlier than limit - (P - 1) x lease and no later than the limit, with Remaining 0
    and a reset inside the window."""
    key = _key()
    answers: list[RateLimitResult | None] = []

    async def body(limiters: list[RateLimiter]) -> None:
        for sent in range(1, 102):
            answers.append(await limiters[sent % len(limiters)].hit(LIMIT, key))
            if answers[-1] is None or not answers[-1].allowed:
                return

    _with_processes(redis_server, body)
    result, sent = answers[-1], len(answers)
    assert result is not None and not result.allowed
    assert 100 - EARLY_MAX < sent <= 101
    assert result.remaining == 0 and result.limit == 100
    assert 1 <= result.reset_after_s() <= 60
    assert result.headers()["Retry-After"] == str(result.reset_after_s())


def test_a_burst_on_one_process_takes_one_lease(redis_server: str) -> None:
    """Five concurrent requests of one process wait for one reservation instead of sending
    five: the shared counter holds one lease."""
    key = _key()
    results: list[RateLimitResult | None] = []

    async def body(limiters: list[RateLimiter]) -> None:
        results.extend(await asyncio.gather(*(limiters[0].hit(LIMIT, key) for _ in range(5))))

    _with_processes(redis_server, body)
    assert all(r is not None and r.allowed for r in results)
    assert _counter(redis_server, LIMIT, key) == LEASE
    assert sorted(r.remaining for r in results if r is not None) == [95, 96, 97, 98, 99]


def test_lease_one_counts_every_hit(redis_server: str) -> None:
    """Lease 1 is the behaviour before leases: every hit, refused ones too, is one increment."""
    key = _key()

    async def body() -> list[RateLimitResult | None]:
        limiter = RateLimiter(redis_server, 1)
        try:
            return [await limiter.hit("3 per 1 minute", key) for _ in range(5)]
        finally:
            await limiter.aclose()

    results = asyncio.run(body())
    assert [r.allowed for r in results if r is not None] == [True, True, True, False, False]
    assert [r.remaining for r in results if r is not None] == [2, 1, 0, 0, 0]
    assert _counter(redis_server, "3 per 1 minute", key) == 5


def test_a_lease_dies_with_its_window(redis_server: str) -> None:
    """Hits leased in a window are not spent in the next: once the window ends the process
    reserves afresh, and a process counting every hit shares the same counter."""
    limit, key = "20 per 1 second", _key()

    async def new_window() -> bool:
        return _counter(redis_server, limit, key) == 0

    async def body(limiters: list[RateLimiter]) -> None:
        leased, exact = limiters[0], RateLimiter(redis_server, 1)
        try:
            first = await leased.hit(limit, key)
            assert first is not None and first.allowed
            assert _counter(redis_server, limit, key) == 2  # a lease of 2 (a tenth of 20)
            exact_hit = await exact.hit(limit, key)
            assert exact_hit is not None and exact_hit.remaining == 17
            await apoll_until(new_window, timeout=5.0, interval=0.05)
            again = await leased.hit(limit, key)
            assert again is not None and again.allowed
            assert _counter(redis_server, limit, key) == 2, "an old lease was spent in a new window"
        finally:
            await exact.aclose()

    _with_processes(redis_server, body)


def test_redis_down_fails_open_within_the_bound() -> None:
    """Nobody at the address: the request is let through (None) within the check's timeout."""

    async def body() -> None:
        limiter = RateLimiter("redis://127.0.0.1:1/0", LEASE)
        try:
            assert await limiter.hit(LIMIT, _key()) is None
        finally:
            await limiter.aclose()

    started = time.monotonic()
    asyncio.run(body())
    assert time.monotonic() - started < 3.0
