"""The job queue on Redis Streams: enqueue with a hard limit, status, dead letters, depths.

Layout (names in ``service.keyspace.keys``): a stream per queue read by one consumer group; a hash
per job holding the record; a counter per queue of accepted-not-terminal jobs (what the length
limit counts: a job waiting for a retry still holds its place, so a failing backlog cannot grow
without bound); a ZSET of scheduled retries and one of dead letters. Every state change is one
Lua script (``service.jobs.lua``); this module is the Python face of those scripts that the
API uses. The worker side lives in ``service.jobs.worker``.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError

from service.jobs import lua
from service.keyspace import keys as c
from service.settings import Settings

JOB_ID_PATTERN = r"^[0-9a-f]{32}$"


class QueueFullError(Exception):
    """The queue holds its maximum of accepted, unfinished jobs; the job was not accepted."""

    def __init__(self, queue: str, depth: int) -> None:
        super().__init__(f"queue {queue!r} is full ({depth} jobs accepted and not finished)")
        self.queue = queue
        self.depth = depth


class NotDeadError(Exception):
    """A requeue asked for a job that is not in the dead-letter queue."""


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    job_id: str
    queue: str
    status: str
    created: bool  # False: an idempotency key matched an existing job


class Lua:
    """A script run by SHA, loaded again after NOSCRIPT (a restarted Redis forgot its cache)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def __call__(self, redis: Redis, keys: list[str], args: list[Any]) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await redis.eval(self.source, len(keys), *keys, *args)


ENQUEUE = Lua(lua.ENQUEUE)
START = Lua(lua.START)
FINISH = Lua(lua.FINISH)
RELEASE = Lua(lua.RELEASE)
MOVE_DUE = Lua(lua.MOVE_DUE)
REQUEUE = Lua(lua.REQUEUE)
DEPTHS = Lua(lua.DEPTHS)
READ = Lua(lua.READ)

BUCKETS_ARG = ",".join(repr(b) for b in c.DURATION_BUCKETS)


def text(value: Any) -> str:
    """A reply as str whether or not the client decodes responses."""
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def new_job_id() -> str:
    return uuid.uuid4().hex


def idempotency_key(owner: str, key: str) -> str:
    """Hashed so that a client's key (which may hold anything) never becomes a raw key name."""
    return f"{c.IDEMPOTENCY_PREFIX}{owner}:{hashlib.sha256(key.encode()).hexdigest()}"


def jitter_factor(settings: Settings) -> float:
    """The multiplier ``1 ± retry_jitter`` applied to a backoff (spreads retry storms)."""
    return 1.0 + settings.retry_jitter * random.uniform(-1.0, 1.0)  # noqa: S311  # jitter, not crypto


async def ensure_groups(redis: Redis) -> None:
    """Create each stream and its consumer group if missing (first start, or a wiped Redis).

    Id ``0``, not ``$``: entries added before the group existed must still be delivered.
    """
    for queue in c.QUEUES:
        try:
            await redis.xgroup_create(c.stream_key(queue), c.CONSUMER_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


async def enqueue(
    redis: Redis,
    settings: Settings,
    *,
    kind: str,
    queue: Literal["hot", "backfill"],
    payload: dict[str, Any],
    owner: str,
    idempotency: str | None = None,
    request_id: str | None = None,
) -> EnqueueResult:
    """Accept a job, or raise QueueFullError; idempotent on ``(owner, idempotency)``.

    A paused queue still accepts (a pause stops the workers, not the clients), so a pause is how
    an operator lets a backlog build for maintenance or a test.
    """
    job_id = new_job_id()
    idem = idempotency_key(owner, idempotency) if idempotency else c.IDEMPOTENCY_PREFIX + "-"
    reply = await ENQUEUE(
        redis,
        [c.active_key(queue), c.stream_key(queue), c.job_key(job_id), idem],
        [
            job_id,
            kind,
            queue,
            json.dumps(payload, separators=(",", ":")),
            settings.job_max_attempts,
            settings.queue_max_length[queue],
            settings.job_default_timeout_s,
            owner,
            c.JOB_SAFETY_TTL_S,
            settings.job_retention_s,
            "1" if idempotency else "0",
            c.JOB_PREFIX,
            request_id or "",
        ],
    )
    outcome, value = text(reply[0]), text(reply[1])
    if outcome == "full":
        raise QueueFullError(queue, int(value))
    if outcome == "existing":
        record = await get_job(redis, value)
        status = record["status"] if record else "queued"
        return EnqueueResult(value, record["queue"] if record else queue, status, created=False)
    return EnqueueResult(job_id, queue, "queued", created=True)


def _iso(value: Any) -> str | None:
    if value in (None, "", b""):
        return None
    return datetime.fromtimestamp(float(value), UTC).isoformat().replace("+00:00", "Z")


def to_record(raw: dict[str, Any]) -> dict[str, Any]:
    """The public job record (DESIGN.md) from the stored hash."""
    h = {text(k): text(v) for k, v in raw.items()}
    history = [
        {
            "attempt": item.get("attempt"),
            "started_at": _iso(item.get("started_at")),
            "finished_at": _iso(item.get("finished_at")),
            "error": item.get("error"),
            "worker_id": item.get("worker_id"),
        }
        for item in json.loads(h.get("history") or "[]")
    ]
    return {
        "job_id": h["job_id"],
        "kind": h["kind"],
        "queue": h["queue"],
        "status": h["status"],
        "attempts": int(h.get("attempts") or 0),
        "max_attempts": int(h["max_attempts"]),
        "created_at": _iso(h.get("created_at")),
        "started_at": _iso(h.get("started_at")),
        "finished_at": _iso(h.get("finished_at")),
        "next_attempt_at": _iso(h.get("next_attempt_at")),
        "error": h.get("error") or None,
        "result": json.loads(h["result"]) if h.get("result") else None,
        "worker_id": h.get("worker_id") or None,
        "attempt_history": history,
    }


async def get_job(redis: Redis, job_id: str) -> dict[str, Any] | None:
    """The public record of a job, or None when unknown (never existed, or expired)."""
    raw: dict[Any, Any] = await redis.hgetall(c.job_key(job_id))
    return to_record(raw) if raw else None


async def queue_depths(redis: Redis) -> dict[str, int]:
    """Depths for health and metrics: keys ``hot``, ``backfill``, ``retry``, ``dead``.

    ``hot``/``backfill`` count jobs waiting to be started (stream entries not yet delivered to a
    worker); ``retry`` counts failed jobs waiting for their backoff; ``dead`` the dead letters.
    One read-only script, so the four figures are one consistent snapshot.
    """
    keys = [c.stream_key(q) for q in c.QUEUES] + [c.RETRY_KEY, c.DEAD_KEY]
    reply = await DEPTHS(redis, keys, [c.CONSUMER_GROUP])
    names = [*c.QUEUES, "retry", "dead"]
    return {name: int(v) for name, v in zip(names, reply, strict=True)}


async def list_dead(
    redis: Redis, *, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Dead letters, newest first, and their total; ids whose record expired are pruned."""
    ids = [text(i) for i in await redis.zrevrange(c.DEAD_KEY, offset, offset + limit - 1)]
    items: list[dict[str, Any]] = []
    for job_id in ids:
        record = await get_job(redis, job_id)
        if record is None:
            await redis.zrem(c.DEAD_KEY, job_id)
        else:
            items.append(record)
    return items, int(await redis.zcard(c.DEAD_KEY))


async def requeue_dead(redis: Redis, settings: Settings, job_id: str) -> dict[str, Any] | None:
    """Put a dead job back in its queue with attempts reset; None when the job is unknown.

    Raises NotDeadError for a job that is not dead and QueueFullError when its queue is full:
    a requeue is an admission like any other, so it respects the length limit.
    """
    raw_queue = await redis.hget(c.job_key(job_id), "queue")
    if raw_queue is None:
        return None
    queue = text(raw_queue)
    limit = settings.queue_max_length.get(queue, 0)  # type: ignore[call-overload]  # str key; 0 = no limit
    reply = await REQUEUE(
        redis,
        [c.job_key(job_id), c.DEAD_KEY, c.active_key(queue)],
        [limit, c.JOB_SAFETY_TTL_S, c.STREAM_PREFIX],
    )
    outcome = text(reply[0])
    if outcome == "missing":
        return None
    if outcome == "not_dead":
        raise NotDeadError(f"job {job_id} is {text(reply[1])}, not dead")
    if outcome == "full":
        raise QueueFullError(queue, int(text(reply[1])))
    return await get_job(redis, job_id)
