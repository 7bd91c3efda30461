"""Per-destination rate-limit state shared by every process through Redis.

A destination's limit is global to the platform (arXiv, GitHub and Hugging Face count requests per
client, not per process), so the "do not call before T" mark lives in Redis. It is raised from a
429/503 ``Retry-After`` or from ``X-RateLimit-Remaining: 0`` with its reset, only ever moved later
(a Lua max), and expires with the reset itself.
"""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime

import httpx
import redis.asyncio as aioredis

from service.constants import OUTBOUND_MAX_BACKOFF_S, OUTBOUND_UNTIL_PREFIX
from service.egress import OutboundError

# SET key to ARGV[1] (epoch seconds) unless it already holds a later time; expire with it.
_RAISE_UNTIL = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local new = tonumber(ARGV[1])
if new > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# Reset headers above this are epoch seconds (GitHub), below it delta seconds (IETF draft).
_EPOCH_THRESHOLD = 1_000_000_000


class RateLimitedError(OutboundError):
    """The destination asked us to wait longer than the caller's bound; nothing was sent."""

    def __init__(self, destination: str, retry_after_s: float) -> None:
        super().__init__(f"{destination} is rate limited for another {retry_after_s:.1f} s")
        self.destination = destination
        self.retry_after_s = retry_after_s


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


class RateGate:
    """Waits for, and records, destinations' rate limits (state in Redis)."""

    def __init__(self, redis: aioredis.Redis, *, max_wait_s: float) -> None:
        self.redis = redis
        self.max_wait_s = max_wait_s
        self._script = redis.register_script(_RAISE_UNTIL)

    async def blocked_for(self, key: str) -> float:
        raw = await self.redis.get(OUTBOUND_UNTIL_PREFIX + key)
        return max(0.0, float(raw) - time.time()) if raw else 0.0

    async def wait_turn(self, key: str, destination: str) -> float:
        """Wait until `key` may be called again (bounded); the seconds waited."""
        wait = await self.blocked_for(key)
        if wait > self.max_wait_s:
            raise RateLimitedError(destination, wait)
        if wait > 0:
            # Honouring the destination's own reset time, not synchronising our processes.
            await asyncio.sleep(wait)
        return wait

    async def observe(self, key: str, response: httpx.Response) -> float | None:
        """Record what the response says about the limit; the delay it imposed, if any."""
        now = time.time()
        delay = wait_from_headers(response, now)
        if delay is not None and delay > 0:
            ttl_ms = int(delay * 1000) + 1000
            await self._script(
                keys=[OUTBOUND_UNTIL_PREFIX + key], args=[f"{now + delay:.3f}", ttl_ms]
            )
        return delay
