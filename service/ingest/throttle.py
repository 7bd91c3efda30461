"""The arXiv cadence: one request every ``arxiv_min_interval_s`` across ALL processes.

``RedisThrottle`` reserves the next slot with one Lua script on Redis's own clock (``TIME``), so
pollers and workers on any host share one schedule and no two can take the same slot; the caller
then waits until its slot (a bounded wait for a reservation it holds, not a sleep standing in
for synchronisation) and takes the in-flight lock, so only one connection is open at a time.
A 503/429 pushes the shared slot past ``Retry-After`` for everyone.

``LocalThrottle`` keeps the interval per process only. It is what a naive poller does, it is
wrong as soon as two processes poll, and it exists so that the cadence check can be shown to
fail on it (``arxiv_rate_state=local``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Protocol

from redis.asyncio import Redis

from service.keyspace import keys as c
from service.keyspace.lua import TIME_PRELUDE, UNTIL_MS
from service.waiting import apoll_until

# Returns {slot_ms, now_ms}: slot = max(now, next); next = slot + interval. Redis TIME is the one
# clock every process agrees on; the key expires a little after the slot it guards.
_RESERVE = (
    TIME_PRELUDE
    + """
local now = now_ms()
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', slot + interval - now + 60000)
return {slot, now}
"""
)
# Push the next slot to at least now + delay (a backoff); never pulls it earlier.
_PUSH = (
    TIME_PRELUDE
    + """
local now = now_ms()
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = now + tonumber(ARGV[1])
if want > nxt then
  redis.call('SET', KEYS[1], tostring(want), 'PX', want - now + 60000)
  return want - now
end
return nxt - now
"""
)
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
LOCK_POLL_S = 0.05  # in-flight lock retry period; the lock is held for one request at most


class Throttle(Protocol):
    def slot(self) -> contextlib.AbstractAsyncContextManager[float]: ...

    async def back_off(self, delay_s: float) -> float: ...


class RedisThrottle:
    """Shared cadence in Redis; ``async with throttle.slot() as waited:`` around one request."""

    def __init__(self, redis: Redis, interval_s: float, *, request_timeout_s: float) -> None:
        self.redis = redis
        self.interval_ms = int((interval_s + c.ARXIV_SLOT_MARGIN_S) * 1000)
        self.lock_ms = int((request_timeout_s + 5) * 1000)
        self.max_wait_s = request_timeout_s + 5
        self._reserve = redis.register_script(_RESERVE)
        self._push = redis.register_script(_PUSH)
        self._release = redis.register_script(_RELEASE)
        self._until = redis.register_script(UNTIL_MS)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        slot_ms, now_ms = (
            int(v)
            for v in await self._reserve(keys=[c.ARXIV_NEXT_SLOT_KEY], args=[self.interval_ms])
        )
        waited = max(0, slot_ms - now_ms) / 1000
        if waited:
            await asyncio.sleep(waited)  # our reserved slot: nobody else may use it
        token = secrets.token_hex(8)
        # Bounded: the holder's request has a timeout, and its lock an expiry.
        await apoll_until(
            lambda: self.redis.set(c.ARXIV_INFLIGHT_KEY, token, nx=True, px=self.lock_ms),
            timeout=self.max_wait_s,
            interval=LOCK_POLL_S,
            message="another arXiv request stayed in flight too long",
        )
        try:
            # The previous request may have ended late: keep the interval from its end too.
            rest = int(await self._until(keys=[c.ARXIV_NOT_BEFORE_KEY])) / 1000
            if rest:
                await asyncio.sleep(rest)  # bounded by interval + backoff; we hold the lock
            yield waited + rest
        finally:
            try:
                await self._push(keys=[c.ARXIV_NOT_BEFORE_KEY], args=[self.interval_ms])
            finally:
                await self._release(keys=[c.ARXIV_INFLIGHT_KEY], args=[token])

    async def back_off(self, delay_s: float) -> float:
        """Keep every process away for ``delay_s``; the seconds until the next slot."""
        await self._push(keys=[c.ARXIV_NOT_BEFORE_KEY], args=[int(delay_s * 1000)])
        left_ms = await self._push(keys=[c.ARXIV_NEXT_SLOT_KEY], args=[int(delay_s * 1000)])
        return int(left_ms) / 1000


class LocalThrottle:
    """Per-process cadence only (the fault the cadence check must catch)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.next_at = 0.0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        waited = max(0.0, self.next_at - time.monotonic())
        if waited:
            await asyncio.sleep(waited)
        self.next_at = time.monotonic() + self.interval_s
        yield waited

    async def back_off(self, delay_s: float) -> float:
        self.next_at = max(self.next_at, time.monotonic() + delay_s)
        return delay_s
