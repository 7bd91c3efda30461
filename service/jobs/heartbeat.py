"""Worker heartbeats: who is alive, since when, on which version, how much it has done.

A worker writes ``pf:worker:<id>`` (JSON) every ``worker_heartbeat_s`` with a TTL of
``HEARTBEAT_TTL_INTERVALS`` intervals, and records itself in the ``pf:workers`` ZSET so the API
can list workers without SCAN. A key that expired means a dead worker: other workers then claim
its pending stream entries at once instead of waiting for the visibility timeout.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from service.jobs.worker_metrics import own_figures
from service.keyspace import keys as c
from service.settings import Settings


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    id: str
    pid: int
    age_s: float  # seconds since the last heartbeat
    version: str
    schema_version: int
    jobs_done: int
    consumer: str = ""  # stream consumer name of this worker process
    started_at: float = 0.0

    def public(self) -> dict[str, Any]:
        """The shape of ``GET /admin/workers`` items."""
        return {
            "id": self.id,
            "pid": self.pid,
            "age_s": round(self.age_s, 3),
            "version": self.version,
            "schema_version": self.schema_version,
            "jobs_done": self.jobs_done,
        }


def heartbeat_ttl_ms(settings: Settings) -> int:
    return max(1, int(settings.worker_heartbeat_s * c.HEARTBEAT_TTL_INTERVALS * 1000))


async def write_heartbeat(redis: Redis, settings: Settings, info: WorkerInfo) -> None:
    """Renew one worker's heartbeat; ``beat_at`` uses the worker's clock (same host in practice).

    The worker's process figures ride along (``service/jobs/worker_metrics.py``): the API
    exports them, since no one can scrape a worker."""
    now = time.time()
    body = json.dumps(
        {
            **own_figures(),
            "id": info.id,
            "pid": info.pid,
            "version": info.version,
            "schema_version": info.schema_version,
            "jobs_done": info.jobs_done,
            "consumer": info.consumer,
            "started_at": info.started_at,
            "beat_at": now,
        }
    )
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(c.heartbeat_key(info.id), body, px=heartbeat_ttl_ms(settings))
        pipe.zadd(c.WORKERS_KEY, {info.id: now})
        await pipe.execute()


async def remove_heartbeat(redis: Redis, worker_id: str) -> None:
    """A clean exit: the worker is gone now, not in three intervals."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(c.heartbeat_key(worker_id))
        pipe.zrem(c.WORKERS_KEY, worker_id)
        await pipe.execute()


async def list_workers(redis: Redis, settings: Settings) -> list[WorkerInfo]:
    """Workers with a live heartbeat, by id; ids whose heartbeat expired are pruned."""
    ids = [
        i.decode() if isinstance(i, bytes) else str(i)
        for i in await redis.zrange(c.WORKERS_KEY, 0, -1)
    ]
    if not ids:
        return []
    bodies = await redis.mget([c.heartbeat_key(i) for i in ids])
    now = time.time()
    out: list[WorkerInfo] = []
    gone: list[str] = []
    for worker_id, body in zip(ids, bodies, strict=True):
        if body is None:
            gone.append(worker_id)
            continue
        d = json.loads(body)
        out.append(
            WorkerInfo(
                id=d["id"],
                pid=int(d["pid"]),
                age_s=max(0.0, now - float(d["beat_at"])),
                version=str(d["version"]),
                schema_version=int(d["schema_version"]),
                jobs_done=int(d["jobs_done"]),
                consumer=str(d.get("consumer", "")),
                started_at=float(d.get("started_at", 0.0)),
            )
        )
    if gone:
        # Only ids silent for two TTLs: one that beat between ZRANGE and MGET stays listed.
        stale_before = now - 2 * heartbeat_ttl_ms(settings) / 1000
        await redis.zremrangebyscore(c.WORKERS_KEY, "-inf", stale_before)
    return sorted(out, key=lambda w: w.id)
