"""The job system's integrity check on a real Valkey: each kind of orphan is found, and a
consistent queue (queued, running under a live worker, waiting for a retry) is not reported."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from redis.asyncio import Redis

from service.jobs import heartbeat, queue
from service.jobs.integrity import JobIntegrityReport, job_integrity
from service.keyspace import keys as c
from service.settings import Settings
from service.waiting import apoll_until
from tests.support.jobs import connect, fresh_settings

# Recovery deadline = 3 heartbeats (0.3 s) + visibility timeout (1 s): an orphan shows within
# seconds, and a loaded machine's stalls between two calls stay well inside it.
FAST = {"worker_heartbeat_s": 0.1, "job_visibility_timeout_s": 1.0}
DEADLINE_S = 1.3
QueueName = Literal["hot", "backfill"]


async def _enqueue(redis: Redis, settings: Settings, queue_name: QueueName = "hot") -> str:
    result = await queue.enqueue(
        redis, settings, kind="noop", queue=queue_name, payload={}, owner="test"
    )
    return result.job_id


async def _deliver(redis: Redis, consumer: str, queue_name: str = "hot") -> str:
    """Read one entry as ``consumer`` and mark its job running, as START would."""
    await queue.ensure_groups(redis)
    reply: Any = await redis.xreadgroup(
        c.CONSUMER_GROUP, consumer, {c.stream_key(queue_name): ">"}, count=1
    )
    entry_id, fields = reply[0][1][0]
    await redis.hset(c.job_key(fields["job_id"]), mapping={"status": "running"})
    return str(entry_id)


async def _beat(redis: Redis, settings: Settings, consumer: str) -> None:
    info = heartbeat.WorkerInfo(
        id=consumer, pid=1, age_s=0.0, version="t", schema_version=1, jobs_done=0, consumer=consumer
    )
    await heartbeat.write_heartbeat(redis, settings, info)


def _run(redis_server: str, scenario: Any, **overrides: Any) -> JobIntegrityReport:
    settings = fresh_settings(redis_server, **FAST, **overrides)

    async def go() -> JobIntegrityReport:
        async with connect(settings) as redis:
            result: JobIntegrityReport = await scenario(redis, settings)
            return result

    return asyncio.run(go())


def test_consistent_queue_is_ok(redis_server: str) -> None:
    """Queued, running under a live worker past the deadline, and waiting for a retry: ok."""

    async def scenario(redis: Redis, settings: Settings) -> JobIntegrityReport:
        await _enqueue(redis, settings, "backfill")
        failed = await _enqueue(redis, settings, "backfill")
        await redis.hset(c.job_key(failed), mapping={"status": "failed", "entry": ""})
        await redis.zadd(c.RETRY_KEY, {failed: time.time() + 60})
        await _enqueue(redis, settings)
        await _deliver(redis, "live-1")
        started = time.monotonic()
        while time.monotonic() - started < DEADLINE_S + 0.2:
            # A live worker's heartbeat cadence while its entry idles past the deadline.
            await _beat(redis, settings, "live-1")
            await asyncio.sleep(settings.worker_heartbeat_s)
        return await job_integrity(redis, settings)

    report = _run(redis_server, scenario)
    assert report.ok, report.checks
    assert (report.job_records, report.unfinished) == (3, 3)


def test_trimmed_stream_leaves_orphaned_records(redis_server: str) -> None:
    """An operator's XTRIM drops the entries: the queued records can never run again."""

    async def scenario(redis: Redis, settings: Settings) -> JobIntegrityReport:
        for _ in range(2):
            await _enqueue(redis, settings, "backfill")
        await redis.xtrim(c.stream_key("backfill"), maxlen=0)
        return await job_integrity(redis, settings)

    report = _run(redis_server, scenario)
    assert not report.ok and report.checks["records"] == "2 orphaned job record(s)"
    assert {o["problem"] for o in report.orphaned_records} == {
        "queued, but its stream entry is gone"
    }


def test_deleted_record_leaves_entry_without_record(redis_server: str) -> None:
    """A record deleted behind the queue's back leaves its stream entry pointing at nothing."""

    async def scenario(redis: Redis, settings: Settings) -> JobIntegrityReport:
        job_id = await _enqueue(redis, settings)
        await redis.delete(c.job_key(job_id))
        return await job_integrity(redis, settings)

    report = _run(redis_server, scenario)
    assert not report.ok and report.entries_without_record[0]["queue"] == "hot"
    assert report.checks["entries"] == "1 stream entries without a job record"


def test_acked_or_unscheduled_jobs_are_orphans(redis_server: str) -> None:
    """Running with its entry acknowledged, failed with no retry scheduled: both stuck."""

    async def scenario(redis: Redis, settings: Settings) -> JobIntegrityReport:
        await _enqueue(redis, settings)
        entry = await _deliver(redis, "w-1")
        await redis.xack(c.stream_key("hot"), c.CONSUMER_GROUP, entry)
        failed = await _enqueue(redis, settings, "backfill")
        await redis.hset(c.job_key(failed), mapping={"status": "failed", "entry": ""})
        return await job_integrity(redis, settings)

    report = _run(redis_server, scenario)
    assert sorted(o["problem"] for o in report.orphaned_records) == [
        "failed, but no retry is scheduled",
        "running, but no worker holds its stream entry",
    ]


def test_dead_workers_entry_reported_after_the_recovery_deadline(redis_server: str) -> None:
    """A pending entry of a consumer without heartbeat: fine at first, reported once it has
    been idle past heartbeat TTL + visibility timeout with nobody claiming it."""

    async def scenario(redis: Redis, settings: Settings) -> JobIntegrityReport:
        await _enqueue(redis, settings)
        await _deliver(redis, "gone-worker")
        assert (await job_integrity(redis, settings)).ok  # within the deadline

        async def reported() -> JobIntegrityReport | None:
            report = await job_integrity(redis, settings)
            return None if report.ok else report

        return await apoll_until(
            reported, timeout=5.0, interval=0.02, message="the ownerless entry to be reported"
        )

    report = _run(redis_server, scenario)
    (item,) = report.ownerless_in_flight
    assert item["consumer"] == "gone-worker" and item["idle_s"] >= DEADLINE_S - 0.1
    assert report.checks["records"] == "ok"  # its record is still referenced (pending)
