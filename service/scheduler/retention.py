"""The retention purge: documents past their source's retention, and job records past theirs.

Documents: ``documents_retention_days`` per source (0 keeps a source forever) against each
document's ``updated_at``. Job and event records (webhook deliveries are jobs too) expire by
their Redis TTL, set when they are written (``job_retention_s`` once terminal); the purge makes
sure that holds and that nothing keeps pointing at them:

- dead-letter index entries whose record has expired are removed (the record is gone, yet the
  entry would still count in ``platform_queue_depth{queue="dead"}`` and page someone);
- a job record found without a TTL (manual surgery, a bug) gets the one the policy gives it.

Shared by ``POST /admin/retention/purge`` and the scheduled ``retention_purge``, so an operator's
purge and the nightly one are the same code. Both scans go by cursor in batches (``SCAN_BATCH``)
so a large keyspace never blocks Redis.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from service.documents.store import DocumentStore
from service.jobs.queue import text
from service.keyspace import keys as c
from service.settings import Settings

# Keys per SCAN/ZSCAN step and per pipelined batch: big enough to finish a large keyspace in few
# round trips, small enough that no single command holds Redis for long.
SCAN_BATCH = 500
TERMINAL = frozenset({"succeeded", "dead"})


def purge_documents(
    settings: Settings, store: DocumentStore, dry_run: bool, as_of: datetime | None = None
) -> dict[str, int]:
    """Documents purged (or, dry, that would be) per source with a finite retention; a dry run
    may be asked ``as_of`` a later instant (what the purge would remove then)."""
    now = as_of if dry_run and as_of is not None else datetime.now(UTC)
    purged: dict[str, int] = {}
    for source, days in settings.documents_retention_days.items():
        if days <= 0:
            continue
        cutoff = now - timedelta(days=days)
        purged[source] = (
            store.count_older_than(cutoff, source)
            if dry_run
            else store.purge_older_than(cutoff, source)
        )
    return purged


async def _prune_dead_index(redis: Redis, dry_run: bool) -> int:
    gone: list[str] = []
    batch: list[str] = []
    async for member, _score in redis.zscan_iter(c.DEAD_KEY, count=SCAN_BATCH):
        batch.append(text(member))
        if len(batch) >= SCAN_BATCH:
            gone += await _missing(redis, batch)
            batch = []
    gone += await _missing(redis, batch)
    if gone and not dry_run:
        for start in range(0, len(gone), SCAN_BATCH):
            await redis.zrem(c.DEAD_KEY, *gone[start : start + SCAN_BATCH])
    return len(gone)


async def _missing(redis: Redis, job_ids: list[str]) -> list[str]:
    if not job_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.exists(c.job_key(job_id))
        found = await pipe.execute()
    return [job_id for job_id, n in zip(job_ids, found, strict=True) if not n]


async def _bound_unexpiring_jobs(redis: Redis, settings: Settings, dry_run: bool) -> int:
    fixed = 0
    batch: list[str] = []
    async for key in redis.scan_iter(match=c.JOB_PREFIX + "*", count=SCAN_BATCH, _type="hash"):
        batch.append(text(key))
        if len(batch) >= SCAN_BATCH:
            fixed += await _bound(redis, settings, batch, dry_run)
            batch = []
    return fixed + await _bound(redis, settings, batch, dry_run)


async def _bound(redis: Redis, settings: Settings, keys: list[str], dry_run: bool) -> int:
    if not keys:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.ttl(key)
            pipe.hget(key, "status")
        replies = await pipe.execute()
    unbounded = [
        (key, text(status) if status is not None else "")
        for key, ttl, status in zip(keys, replies[::2], replies[1::2], strict=True)
        if ttl == -1
    ]
    if unbounded and not dry_run:
        async with redis.pipeline(transaction=False) as pipe:
            for key, status in unbounded:
                ttl = settings.job_retention_s if status in TERMINAL else c.JOB_SAFETY_TTL_S
                pipe.expire(key, ttl, nx=True)  # NX: a TTL set meanwhile is kept
            await pipe.execute()
    return len(unbounded)


async def purge(
    settings: Settings,
    store: DocumentStore,
    redis: Redis,
    *,
    dry_run: bool = False,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Apply the whole retention policy once; what was (or, dry, would be) removed."""
    documents = await asyncio.to_thread(purge_documents, settings, store, dry_run, as_of)
    records = {
        "dead_letters_expired": await _prune_dead_index(redis, dry_run),
        "job_records_ttl_set": await _bound_unexpiring_jobs(redis, settings, dry_run),
    }
    return {
        "dry_run": dry_run,
        "as_of": as_of.isoformat() if dry_run and as_of is not None else None,
        "purged": documents,
        "policy": dict(settings.documents_retention_days),
        "records": records,
        "job_retention_s": settings.job_retention_s,
    }
