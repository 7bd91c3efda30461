"""How workers take over work that another worker can no longer finish.

Three mechanisms, fastest first:

- dead consumers: a worker whose heartbeat expired is dead; its pending stream entries are
  XCLAIMed by a live worker at once (min idle = one heartbeat interval, so when two live workers
  race, the first claim resets the idle time and the second claims nothing);
- XAUTOCLAIM with ``job_visibility_timeout_s``: entries idle that long are taken whoever holds
  them (a worker that is alive but stuck). A live worker keeps its own entries fresh with ``touch``;
- due retries: ``MOVE_DUE`` puts failed jobs whose backoff elapsed back in their stream.

Taking an entry does not decide who runs the job: the START script does (and records the lost
attempt), and FINISH is fenced by the attempt token, so a job taken from a worker that was only
slow is never recorded as succeeded twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from service.jobs.queue import MOVE_DUE, Lua, text
from service.keyspace import keys as c
from service.settings import Settings

# Re-claim (reset the idle time of) entries still held by this consumer; an entry that another
# worker took meanwhile is left alone, so touching never steals work back.
TOUCH = Lua(r"""
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #p > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
""")


@dataclass(frozen=True, slots=True)
class Delivery:
    """A stream entry delivered to (or claimed by) this worker: a ticket to run one job."""

    queue: str
    entry: str
    job_id: str


def _deliveries(queue: str, entries: Any) -> list[Delivery]:
    """Entries of an XREADGROUP/XCLAIM/XAUTOCLAIM reply (typed loosely: redis-py's reply unions)."""
    out: list[Delivery] = []
    for entry_id, fields in entries:
        if not fields:  # deleted while pending: nothing to run
            continue
        data = {text(k): text(v) for k, v in dict(fields).items()}
        out.append(Delivery(queue, text(entry_id), data["job_id"]))
    return out


async def touch(redis: Redis, consumer: str, held: list[Delivery]) -> None:
    for queue in c.QUEUES:
        ids = [d.entry for d in held if d.queue == queue]
        if ids:
            await TOUCH(redis, [c.stream_key(queue)], [c.CONSUMER_GROUP, consumer, *ids])


async def claim_from_dead(
    redis: Redis, settings: Settings, consumer: str, alive: set[str], limit: int
) -> list[Delivery]:
    """Claim pending entries of consumers that have no live heartbeat; forget empty ones."""
    min_idle_ms = int(settings.worker_heartbeat_s * 1000)
    gone_after_ms = int(settings.worker_heartbeat_s * c.HEARTBEAT_TTL_INTERVALS * 2000)
    out: list[Delivery] = []
    for queue in c.QUEUES:
        stream = c.stream_key(queue)
        for info in await redis.xinfo_consumers(stream, c.CONSUMER_GROUP):
            name = text(info["name"])
            if name == consumer or name in alive:
                continue
            if int(info["pending"]) == 0:
                if int(info["idle"]) > gone_after_ms:
                    await redis.xgroup_delconsumer(stream, c.CONSUMER_GROUP, name)
                continue
            if len(out) >= limit:
                continue
            pending = await redis.xpending_range(
                stream,
                c.CONSUMER_GROUP,
                min="-",
                max="+",
                count=limit - len(out),
                consumername=name,
            )
            ids: list[Any] = [p["message_id"] for p in pending]
            if ids:
                claimed = await redis.xclaim(stream, c.CONSUMER_GROUP, consumer, min_idle_ms, ids)
                out.extend(_deliveries(queue, claimed))
    return out


async def autoclaim(redis: Redis, settings: Settings, consumer: str, limit: int) -> list[Delivery]:
    """Take entries idle past the visibility timeout, whoever holds them."""
    out: list[Delivery] = []
    min_idle_ms = int(settings.job_visibility_timeout_s * 1000)
    for queue in c.QUEUES:
        if len(out) >= limit:
            break
        reply = await redis.xautoclaim(
            c.stream_key(queue),
            c.CONSUMER_GROUP,
            consumer,
            min_idle_ms,
            "0-0",
            count=limit - len(out),
        )
        out.extend(_deliveries(queue, reply[1]))
    return out


async def move_due_retries(redis: Redis) -> int:
    """Queue again every retry whose time has come (in batches); the number moved."""
    total = 0
    while True:
        moved = int(
            await MOVE_DUE(
                redis, [c.RETRY_KEY], [c.RETRY_MOVE_BATCH, c.JOB_PREFIX, c.STREAM_PREFIX]
            )
        )
        total += moved
        if moved < c.RETRY_MOVE_BATCH:
            return total
