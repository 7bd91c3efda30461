"""The platform's own record of what it sent out: every request on the wire and every
robots.txt decision, per destination, for ``GET /admin/outbound/requests``.

A deployment's release gate cannot read arXiv's or a website's access log; the platform can say
what it sent. Entries have the shape of the emulators' request logs (``time`` the request left,
``path``, ``status``, ``duration_ms``), so the suite judges both with one function. Kept in Redis
(``pf:outbound:log:<host:port>``, capped and expiring: ``service/keyspace/keys.py``), written by
the outbound client and the robots.txt check of every process. Recording is best effort: a
request is never failed because its record could not be written.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.keyspace import keys as c

log = logging.getLogger("service.outbound.request_log")
ENTRY_FIELD = "e"


async def append(redis: Redis, host_port: str, entry: dict[str, Any]) -> None:
    """Add one entry to the destination's stream (capped), renewing its TTL and the index."""
    key = c.OUTBOUND_LOG_PREFIX + host_port
    body = json.dumps({**entry, "pid": os.getpid()}, separators=(",", ":"))
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {ENTRY_FIELD: body}, maxlen=c.OUTBOUND_LOG_MAXLEN, approximate=True)
            pipe.expire(key, c.OUTBOUND_LOG_TTL_S)
            pipe.sadd(c.OUTBOUND_LOG_INDEX_KEY, host_port)
            pipe.expire(c.OUTBOUND_LOG_INDEX_KEY, c.OUTBOUND_LOG_TTL_S)
            await pipe.execute()
    except RedisError as exc:
        log.warning("outbound request not recorded: %s", type(exc).__name__)


async def record_request(
    redis: Redis,
    host_port: str,
    *,
    destination: str,
    method: str,
    path: str,
    sent_at: float,
    status: int | None,
    outcome: str,
) -> None:
    """One request on the wire (a hop, a retry): when it left, and what came back."""
    entry = {
        "kind": "request",
        "time": round(sent_at, 6),
        "destination": destination,
        "method": method,
        "path": path,
        "status": status,
        "outcome": outcome,
        "duration_ms": round((time.time() - sent_at) * 1000, 3),
    }
    await append(redis, host_port, entry)


async def record_robots(redis: Redis, host_port: str, path: str, allowed: bool) -> None:
    """One robots.txt decision about a page of the destination."""
    entry = {"kind": "robots", "time": round(time.time(), 6), "path": path, "allowed": allowed}
    await append(redis, host_port, entry)


async def read(redis: Redis, since: float, limit: int) -> dict[str, list[dict[str, Any]]]:
    """Entries of every destination newer than ``since`` (epoch s), oldest first, at most
    ``limit`` per destination (the newest)."""
    hosts = sorted(str(h) for h in await redis.smembers(c.OUTBOUND_LOG_INDEX_KEY))
    # Stream ids are Redis's clock, entries the sender's: a minute of slack for their skew.
    first_id = f"{max(0, int((since - 60) * 1000))}-0"
    out: dict[str, list[dict[str, Any]]] = {}
    for host in hosts:
        rows = await redis.xrevrange(c.OUTBOUND_LOG_PREFIX + host, "+", first_id, count=limit)
        entries = [
            json.loads(str(fields[ENTRY_FIELD])) for _, fields in reversed(rows or []) if fields
        ]
        kept = [e for e in entries if float(e.get("time", 0)) >= since]
        if kept:
            out[host] = kept
    return out
