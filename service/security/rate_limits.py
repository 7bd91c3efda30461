"""Per-key rate limiting on Redis with the `limits` library (fixed window), optionally leased.

Counters live in Redis so that every API process shares one budget per key. A fixed window is
enough here (one INCR + EXPIRE per request) and its reset time is exact, which is what the
``RateLimit-Reset`` and ``Retry-After`` headers report.

One Redis round trip per request: the storage's atomic increment returns the count (remaining
follows from it), and a window's reset time is fixed when the window opens, so each process
learns it once per window (from the TTL, or as now + window when its own increment opened it)
instead of asking for count and TTL on every request, as the strategy's `hit` plus
`get_window_stats` would (three round trips, on every chat request's time to first token).

With ``rate_limit_lease`` above 1 a process reserves hits in batches instead and admits most
requests without a round trip (``rate_leases.py``: the window never admits more than its limit;
it can refuse up to (processes - 1) x lease early). 0 or 1 keeps the count of every hit here.

If Redis cannot answer within `CHECK_TIMEOUT_S` the request is let through (fail open) and an
error is logged: the rate limit protects capacity, and with Redis down the job routes fail anyway,
while auth (which never touches Redis) still holds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage

from service.keyspace.keys import RATE_LIMIT_PREFIX
from service.security.rate_leases import LeasedCounter, lease_size

logger = logging.getLogger("platform.ratelimit")

# A limit check must not hold a request hostage to a slow Redis.
CHECK_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when the window resets

    def reset_after_s(self, now: float | None = None) -> int:
        """Whole seconds until the window resets, at least 1 (what Retry-After needs)."""
        return max(1, math.ceil(self.reset_at - (time.time() if now is None else now)))

    def headers(self) -> dict[str, str]:
        """IETF draft ``RateLimit-*`` (reset as delta seconds) plus GitHub-style ``X-RateLimit-*``
        (reset as epoch seconds), as clients in the wild read either."""
        reset_after = str(self.reset_after_s())
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": reset_after,
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }
        if not self.allowed:
            headers["Retry-After"] = reset_after
        return headers


class RateLimiter:
    """One per app: owns the `limits` storage (its own small connection pool) and, with leases,
    a client for the reservations."""

    def __init__(self, redis_url: str, lease: int = 1) -> None:
        self.storage = RedisStorage(
            "async+" + redis_url,
            implementation="redispy",
            key_prefix=RATE_LIMIT_PREFIX,
            socket_timeout=CHECK_TIMEOUT_S,
            socket_connect_timeout=CHECK_TIMEOUT_S,
        )
        self._items: dict[str, RateLimitItem] = {}
        # Reset time of the current window per counter key; keys are configured key ids, so
        # this stays as small as the key list.
        self._resets: dict[str, float] = {}
        self.lease = lease
        self._leased: LeasedCounter | None = None
        if lease > 1:
            client = aioredis.Redis.from_url(
                redis_url, socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S
            )
            self._leased = LeasedCounter(client)

    def item(self, limit: str) -> RateLimitItem:
        if limit not in self._items:
            self._items[limit] = parse(limit)
        return self._items[limit]

    async def hit(self, limit: str, key_id: str) -> RateLimitResult | None:
        """Count one request of `key_id` against `limit`; None when Redis could not tell."""
        item = self.item(limit)
        size = lease_size(self.lease, item.amount)
        if self._leased is not None and size > 1:
            return await _hit_leased(self._leased, item, key_id, size)
        return await self._hit_each(item, key_id)

    async def _hit_each(self, item: RateLimitItem, key_id: str) -> RateLimitResult | None:
        """One Redis increment per request (lease 0 or 1, or a limit too small to lease)."""
        key = item.key_for(key_id)
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                count = await self.storage.incr(key, item.get_expiry())
                now = time.time()
                reset_at = self._resets.get(key, 0.0)
                if count == 1:  # this increment opened the window (and set its expiry)
                    reset_at = now + item.get_expiry()
                elif reset_at <= now:  # a window another process opened: ask once
                    reset_at = await self.storage.get_expiry(key)
                self._resets[key] = reset_at
        except Exception as exc:  # any storage failure: fail open, loudly
            logger.error("rate limit check failed, request let through: %s", type(exc).__name__)
            return None
        return RateLimitResult(
            allowed=count <= item.amount,
            limit=item.amount,
            remaining=max(0, item.amount - count),
            reset_at=reset_at,
        )

    async def aclose(self) -> None:
        """Close the storage's connections (called from the app lifespan)."""
        if self._leased is not None:
            await self._leased.aclose()
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()


async def _hit_leased(
    leased: LeasedCounter, item: RateLimitItem, key_id: str, size: int
) -> RateLimitResult | None:
    """One request against the process's lease of the window (``rate_leases.py``)."""
    key = f"{RATE_LIMIT_PREFIX}:{item.key_for(key_id)}"  # the counter `limits` names
    try:
        # The lock wait counts too: with Redis stuck, requests queued behind one reservation
        # fail open after this bound instead of trying one after another.
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            taken = await leased.take(key, item.amount, item.get_expiry(), size)
    except Exception as exc:  # as in RateLimiter: fail open, loudly
        logger.error("rate limit check failed, request let through: %s", type(exc).__name__)
        return None
    return RateLimitResult(taken.allowed, item.amount, taken.remaining, taken.reset_at)
