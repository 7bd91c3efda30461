"""Rate-limit budgets leased from Redis in small batches, so most requests count locally.

Why: counting every request in Redis puts one round trip on every request's path, ~0.8 ms of
the gateway's time to first token at one stream on the development machine (bench/README.md,
"Gateway overhead"), and under a burst a turn of the event loop that other requests wait for.

How: a process reserves up to ``size`` hits of a key's current window at once, with one script
(``RESERVE``) that grants ``min(size, limit - reserved so far)`` and adds the grant to the shared
counter, and then admits requests from that lease without asking Redis until it is spent
(reserve again) or the window ends (the lease dies with it). The window's end is the counter's
PTTL counted from *before* the script was sent, so a process never thinks a window lasts longer
than Redis does. A reservation that got less than it asked took the window's last hits: the
process then refuses without asking until the window ends.

Bound: the counter never passes the limit and a process admits only hits it reserved, so one
window admits at most ``limit`` requests across all processes, never more. It can refuse early:
hits leased to other processes and not used yet are out of this one's reach, at most
``(P - 1) x size`` per window for P processes. ``RateLimit-Remaining`` is the process's view:
its own unused lease plus what the window had unreserved at its last reservation.

Why a script of our own and not `limits`: `limits`' fixed window adds a fixed amount and
answers ``count <= limit``; a grant capped at what is left (the counter never passes the limit,
and grant and TTL come back in one round trip) is not among its operations. `limits` still
parses the notation and names the counter (``rate_limits.py``), so processes leasing and
processes counting each hit (lease 1, e.g. during a rolling deploy) share one counter.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

# KEYS[1] the window's counter; ARGV limit, hits wanted, window (ms). Returns {granted, hits
# still unreserved, ms until the window ends}. A counter over the limit (processes counting each
# hit also count refused ones) leaves nothing to grant. The expiry is set when the reservation
# that creates the counter opens the window, as `limits`' own increment does.
RESERVE = """
local limit, want = tonumber(ARGV[1]), tonumber(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.max(0, math.min(want, limit - used))
if grant > 0 then
  used = redis.call('INCRBY', KEYS[1], grant)
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 and used > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  ttl = tonumber(ARGV[3])
end
return {grant, math.max(0, limit - used), ttl}
"""

# A lease is at most this share of a window's limit (1/10), so that hits idle in one process's
# lease can never be a large part of a small key's budget: a limit of 20 leases 2 at a time, one
# under 20 is counted hit by hit.
LEASE_SHARE_DIVISOR = 10


def lease_size(configured: int, limit: int) -> int:
    """Hits reserved at once for a window of ``limit``: the setting, capped at a tenth of the
    limit; 1 (count every hit in Redis) when that leaves less than 2."""
    return max(1, min(configured, limit // LEASE_SHARE_DIVISOR))


@dataclass(slots=True)
class Lease:
    """Hits of one window reserved by this process."""

    tokens: int  # reserved and not used yet
    unreserved: int  # what the window still had for anyone after this reservation
    ends: float  # time.monotonic() at which the window ends, no later than Redis's end
    reset_at: float  # the same instant in epoch seconds (for the headers)
    exhausted: bool  # the reservation got less than it asked: the window has nothing left

    def usable(self, now: float) -> bool:
        """Still this window, and either hits in hand or the certainty that there are none."""
        return now < self.ends and (self.tokens > 0 or self.exhausted)


@dataclass(frozen=True, slots=True)
class Taken:
    """One request's answer from the lease."""

    allowed: bool
    remaining: int
    reset_at: float


class LeasedCounter:
    """Leases per counter key for one process; one reservation in flight per key at a time."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._reserve = client.register_script(RESERVE)
        self._leases: dict[str, Lease] = {}
        # Requests arriving while a reservation is on its way wait for it instead of sending
        # their own: a burst costs one round trip per lease, not one per request.
        self._locks: dict[str, asyncio.Lock] = {}

    async def take(self, key: str, limit: int, window_s: int, size: int) -> Taken:
        """Admit or refuse one request of the window counted at ``key``."""
        lease = self._leases.get(key)
        if lease is None or not lease.usable(time.monotonic()):
            async with self._locks.setdefault(key, asyncio.Lock()):
                lease = self._leases.get(key)
                if lease is None or not lease.usable(time.monotonic()):
                    lease = await self._reserved(key, limit, window_s, size)
                    self._leases[key] = lease
        if lease.tokens > 0:
            lease.tokens -= 1
            return Taken(True, lease.tokens + lease.unreserved, lease.reset_at)
        return Taken(False, 0, lease.reset_at)

    async def _reserved(self, key: str, limit: int, window_s: int, size: int) -> Lease:
        sent, sent_wall = time.monotonic(), time.time()
        granted, unreserved, ttl_ms = await self._reserve(
            keys=[key], args=[limit, size, window_s * 1000]
        )
        left_s = (int(ttl_ms) if int(ttl_ms) > 0 else window_s * 1000) / 1000
        return Lease(
            tokens=int(granted),
            unreserved=int(unreserved),
            ends=sent + left_s,
            reset_at=sent_wall + left_s,
            exhausted=int(granted) < size,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
