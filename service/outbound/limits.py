"""Per-destination rate limits shared by every process through Redis: one request on the wire.

A destination's limit is global to the platform (arXiv, GitHub and Hugging Face count requests per
client, not per process), so its state lives in Redis:

- ``pf:outbound:inflight:<host:port>``, a lock (redis-py's ``Lock``: SET NX PX, compare-and-delete
  release) held from before the request is sent until its answer has been read *and recorded*.
  That is what makes the limit exact under concurrency: without it, a request that passed the
  check while another was in flight would go out right after that other one's 429 (seen 0.17 s
  after). GitHub asks for exactly this ("make requests for a single client serially"), and the
  platform's external calls are few and small, so one at a time costs nothing that matters.
- ``pf:outbound:until:<host:port>``, the "do not call before T" mark (epoch ms on Redis's clock,
  the one clock every process agrees on), raised from a 429/503 ``Retry-After`` or from
  ``X-RateLimit-Remaining: 0`` with its reset, only ever moved later (a Lua max), expiring with
  the reset itself. It is read while the lock is held, so no request can slip in between.

``LocalGate`` keeps both per process only: what a naive client does, wrong as soon as two
processes call the same site; it exists so that ``tos.external-rate-limits`` can be shown to fail
on it (``outbound_rate_state=local``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx
import redis.asyncio as aioredis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from service.keyspace.keys import (
    OUTBOUND_INFLIGHT_PREFIX,
    OUTBOUND_LOCK_MARGIN_S,
    OUTBOUND_MAX_BACKOFF_S,
    OUTBOUND_UNTIL_PREFIX,
)
from service.keyspace.lua import TIME_PRELUDE, UNTIL_MS
from service.outbound.egress import OutboundError

# SET key to now + ARGV[1] ms (Redis clock) unless it already holds a later time; expire with it.
_RAISE_UNTIL = (
    TIME_PRELUDE
    + """
local now = now_ms()
local new = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if new > cur then
  redis.call('SET', KEYS[1], tostring(new), 'PX', tonumber(ARGV[1]) + 1000)
end
return 0
"""
)
# Lock retry period: a waiter notices a released lock within this; requests take milliseconds
# to seconds, so 20 ms adds little latency and a few Redis round trips per waiting request.
LOCK_POLL_S = 0.02

# Reset headers above this are epoch seconds (GitHub), below it delta seconds (IETF draft).
_EPOCH_THRESHOLD = 1_000_000_000


class RateLimitedError(OutboundError):
    """The destination asked us to wait longer than the caller's bound; nothing was sent."""

    def __init__(self, destination: str, retry_after_s: float) -> None:
        super().__init__(f"{destination} is rate limited for another {retry_after_s:.1f} s")
        self.destination = destination
        self.retry_after_s = retry_after_s


class DestinationBusyError(RateLimitedError):
    """Other requests to the destination held its one connection longer than our bound."""


def _seconds(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After / reset value: delta seconds, epoch or HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            return parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    return number - now if number > _EPOCH_THRESHOLD else number


def wait_from_headers(response: httpx.Response, now: float) -> float | None:
    """How long the destination asked us to stay away, or None when it did not."""
    headers = response.headers
    if response.status_code in (429, 503):
        delay = _seconds(headers.get("Retry-After"), now)
        if delay is None and response.status_code == 429:
            delay = _seconds(
                headers.get("X-RateLimit-Reset") or headers.get("RateLimit-Reset"), now
            )
        if delay is None and response.status_code == 429:
            delay = 1.0  # a 429 without a hint still means "not now"
        if delay is not None:
            return max(0.0, min(delay, OUTBOUND_MAX_BACKOFF_S))
    remaining = headers.get("X-RateLimit-Remaining") or headers.get("RateLimit-Remaining")
    if remaining is not None and remaining.strip() == "0":
        reset = headers.get("X-RateLimit-Reset") or headers.get("RateLimit-Reset")
        delay = _seconds(reset, now)
        return max(0.0, min(delay if delay is not None else 1.0, OUTBOUND_MAX_BACKOFF_S))
    return None


class RateGate(Protocol):
    """``async with gate.turn(key, name) as waited:`` around one request and its `observe`."""

    def turn(self, key: str, destination: str) -> contextlib.AbstractAsyncContextManager[float]: ...

    async def observe(self, key: str, response: httpx.Response) -> float | None: ...


class RedisGate:
    """The shared gate (module docstring): lock, then the until mark, both in Redis."""

    def __init__(self, redis: aioredis.Redis, *, max_wait_s: float, request_s: float) -> None:
        self.redis = redis
        self.max_wait_s = max_wait_s
        # Held only around one bounded request (never while sleeping towards a reset), so a
        # process killed while holding it frees the destination soon after, never later.
        self.hold_s = request_s + OUTBOUND_LOCK_MARGIN_S
        # A caller may wait out one reset it was told about plus a request ahead of it.
        self.lock_wait_s = max_wait_s + request_s
        self._raise = redis.register_script(_RAISE_UNTIL)
        self._until = redis.register_script(UNTIL_MS)

    @contextlib.asynccontextmanager
    async def turn(self, key: str, destination: str) -> AsyncIterator[float]:
        started = time.monotonic()
        lock = self.redis.lock(
            OUTBOUND_INFLIGHT_PREFIX + key,
            timeout=self.hold_s,
            sleep=LOCK_POLL_S,
            thread_local=False,
        )
        await self._hold_when_free(lock, key, destination, started + self.lock_wait_s)
        try:
            yield time.monotonic() - started
        finally:
            # Expired (only past hold_s): someone else's lock now, which release leaves alone.
            with contextlib.suppress(LockError):
                await lock.release()

    async def _hold_when_free(
        self, lock: Lock, key: str, destination: str, deadline: float
    ) -> None:
        """Return holding the lock with the until mark passed; raise when that takes too long."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not await lock.acquire(blocking_timeout=left):
                raise DestinationBusyError(destination, self.lock_wait_s)
            wait = int(await self._until(keys=[OUTBOUND_UNTIL_PREFIX + key])) / 1000
            if wait <= 0:
                return
            with contextlib.suppress(LockError):
                await lock.release()
            if wait > self.max_wait_s:
                raise RateLimitedError(destination, wait)
            # The destination's own reset time; then the lock and the mark are checked again.
            await asyncio.sleep(wait)

    async def observe(self, key: str, response: httpx.Response) -> float | None:
        """Record what the response says about the limit; the delay it imposed, if any."""
        delay = wait_from_headers(response, time.time())
        if delay is not None and delay > 0:
            await self._raise(keys=[OUTBOUND_UNTIL_PREFIX + key], args=[int(delay * 1000)])
        return delay


class LocalGate:
    """Per-process lock and until mark only (the fault the rate-limit check must catch)."""

    def __init__(self, *, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self._locks: dict[str, asyncio.Lock] = {}
        self._until: dict[str, float] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: str, destination: str) -> AsyncIterator[float]:
        started = time.monotonic()
        async with self._locks.setdefault(key, asyncio.Lock()):
            wait = max(0.0, self._until.get(key, 0.0) - time.monotonic())
            if wait > self.max_wait_s:
                raise RateLimitedError(destination, wait)
            if wait > 0:
                await asyncio.sleep(wait)
            yield time.monotonic() - started

    async def observe(self, key: str, response: httpx.Response) -> float | None:
        delay = wait_from_headers(response, time.time())
        if delay is not None and delay > 0:
            self._until[key] = max(self._until.get(key, 0.0), time.monotonic() + delay)
        return delay
