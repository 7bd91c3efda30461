"""The queue's state changes, driven directly through its scripts against a real Valkey."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from service.jobs import queue
from service.keyspace import keys as c
from service.settings import Settings
from tests.support.jobs import connect, fresh_settings


async def _deliver(r: Redis, q: str = "hot", consumer: str = "c1") -> tuple[str, str]:
    await queue.ensure_groups(r)
    reply = await r.xreadgroup(c.CONSUMER_GROUP, consumer, {c.stream_key(q): ">"}, count=1)
    entry_id, fields = reply[0][1][0]
    return entry_id, fields["job_id"]


def _dead_letter(s: Settings) -> str:
    return "1" if s.dead_letter_enabled else "0"


async def _start(r: Redis, s: Settings, entry: str, job_id: str, token: str) -> list[str]:
    keys = [c.job_key(job_id), c.stream_key("hot"), c.DEAD_KEY, c.active_key("hot"), c.STATS_KEY]
    args = [
        entry,
        "w1",
        token,
        c.CONSUMER_GROUP,
        s.job_retention_s,
        c.ATTEMPT_HISTORY_MAX,
        queue.BUCKETS_ARG,
        _dead_letter(s),
    ]
    return list(await queue.START(r, keys, args))


async def _finish(r: Redis, s: Settings, job_id: str, token: str, ok: bool) -> list[str]:
    keys = [
        c.job_key(job_id),
        c.stream_key("hot"),
        c.RETRY_KEY,
        c.DEAD_KEY,
        c.active_key("hot"),
        c.STATS_KEY,
    ]
    args = [
        token,
        c.CONSUMER_GROUP,
        "ok" if ok else "fail",
        '{"ok":true}' if ok else "boom",
        s.job_retention_s,
        c.ATTEMPT_HISTORY_MAX,
        s.retry_base_s,
        s.retry_max_s,
        1.0,
        queue.BUCKETS_ARG,
        "0",
        _dead_letter(s),
    ]
    return list(await queue.FINISH(r, keys, args))


def test_limit_is_exact_under_concurrency(redis_server: str) -> None:
    """50 concurrent enqueues against a limit of 10: exactly 10 accepted, none dropped."""
    s = fresh_settings(redis_server, queue_max_length={"hot": 10, "backfill": 10})

    async def body() -> None:
        async with connect(s) as r:

            async def one() -> bool:
                try:
                    await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
                except queue.QueueFullError:
                    return False
                return True

            results = await asyncio.gather(*(one() for _ in range(50)))
            assert sum(results) == 10
            assert await r.xlen(c.stream_key("hot")) == 10
            assert int(await r.get(c.active_key("hot"))) == 10
            assert (await queue.queue_depths(r))["hot"] == 10

    asyncio.run(body())


def test_idempotency_key_returns_the_same_job(redis_server: str) -> None:
    """Same key and owner: one job; another owner with the same key: its own job."""
    s = fresh_settings(redis_server)

    async def body() -> None:
        async with connect(s) as r:
            first = await queue.enqueue(
                r, s, kind="noop", queue="hot", payload={}, owner="ci", idempotency="abc"
            )
            again = await queue.enqueue(
                r, s, kind="noop", queue="hot", payload={}, owner="ci", idempotency="abc"
            )
            other = await queue.enqueue(
                r, s, kind="noop", queue="hot", payload={}, owner="x", idempotency="abc"
            )
            assert first.created and not again.created
            assert again.job_id == first.job_id
            assert other.job_id != first.job_id
            assert await r.xlen(c.stream_key("hot")) == 2
            assert 0 < await r.ttl(queue.idempotency_key("ci", "abc")) <= s.job_retention_s

    asyncio.run(body())


def test_completion_is_fenced_by_attempt_token(redis_server: str) -> None:
    """A reclaimed attempt's old holder cannot record an outcome; success is recorded once."""
    s = fresh_settings(redis_server)

    async def body() -> None:
        async with connect(s) as r:
            await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
            entry, job_id = await _deliver(r)
            assert (await _start(r, s, entry, job_id, "tok-a"))[0] == "run"
            # The entry is reclaimed by another worker: the START of attempt 2 fences attempt 1.
            assert (await _start(r, s, entry, job_id, "tok-b"))[0] == "run"
            assert (await _finish(r, s, job_id, "tok-a", ok=True)) == ["fenced"]
            assert (await _finish(r, s, job_id, "tok-b", ok=True)) == ["succeeded"]
            assert (await _finish(r, s, job_id, "tok-b", ok=True)) == ["fenced"]
            record = await queue.get_job(r, job_id)
            assert record is not None and record["status"] == "succeeded"
            history = record["attempt_history"]
            assert [h["error"] is None for h in history] == [False, True]
            assert history[0]["error"].startswith("lost:")
            assert await r.xlen(c.stream_key("hot")) == 0
            assert int(await r.get(c.active_key("hot"))) == 0

    asyncio.run(body())


def test_terminal_record_gets_retention_ttl(redis_server: str) -> None:
    """Queued records carry the long safety TTL; a finished one the retention TTL."""
    s = fresh_settings(redis_server, job_retention_s=120)

    async def body() -> None:
        async with connect(s) as r:
            await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
            entry, job_id = await _deliver(r)
            assert await r.ttl(c.job_key(job_id)) > s.job_retention_s
            await _start(r, s, entry, job_id, "t")
            await _finish(r, s, job_id, "t", ok=True)
            assert 0 < await r.ttl(c.job_key(job_id)) <= 120

    asyncio.run(body())


def test_failure_schedules_retry_then_dead_letter_and_requeue(redis_server: str) -> None:
    """Failures back off via the retry set; the last one dead-letters; requeue resets attempts."""
    s = fresh_settings(redis_server, job_max_attempts=2, retry_base_s=0.0)

    async def body() -> None:
        async with connect(s) as r:
            await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
            entry, job_id = await _deliver(r)
            await _start(r, s, entry, job_id, "t1")
            assert (await _finish(r, s, job_id, "t1", ok=False))[0] == "failed"
            assert (await queue.queue_depths(r))["retry"] == 1
            with pytest.raises(queue.NotDeadError):
                await queue.requeue_dead(r, s, job_id)
            from service.jobs.recovery import move_due_retries

            assert await move_due_retries(r) == 1
            entry, _ = await _deliver(r)
            await _start(r, s, entry, job_id, "t2")
            assert (await _finish(r, s, job_id, "t2", ok=False)) == ["dead"]
            items, total = await queue.list_dead(r)
            assert total == 1 and items[0]["error"] == "boom" and items[0]["attempts"] == 2
            assert (await queue.queue_depths(r)) == {"hot": 0, "backfill": 0, "retry": 0, "dead": 1}
            record = await queue.requeue_dead(r, s, job_id)
            assert record is not None
            assert (record["status"], record["attempts"]) == ("queued", 0)
            assert (await queue.queue_depths(r))["hot"] == 1
            assert await queue.requeue_dead(r, s, "0" * 32) is None

    asyncio.run(body())


def test_dead_letter_disabled_discards_exhausted_jobs(redis_server: str) -> None:
    """dead_letter_enabled=False: the job is dead, but no dead letter is kept (nothing to list)."""
    s = fresh_settings(redis_server, job_max_attempts=1, dead_letter_enabled=False)

    async def body() -> None:
        async with connect(s) as r:
            await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
            entry, job_id = await _deliver(r)
            await _start(r, s, entry, job_id, "t1")
            assert (await _finish(r, s, job_id, "t1", ok=False)) == ["dead"]
            record = await queue.get_job(r, job_id)
            assert record is not None and record["status"] == "dead"
            assert await queue.list_dead(r) == ([], 0)
            assert (await queue.queue_depths(r))["dead"] == 0
            assert await r.get(c.active_key("hot")) == "0"

    asyncio.run(body())


def test_zero_length_limit_means_unlimited(redis_server: str) -> None:
    """queue_max_length 0 accepts everything (also a requeue); the other queue keeps its limit."""
    s = fresh_settings(redis_server, queue_max_length={"hot": 0, "backfill": 1})

    async def body() -> None:
        async with connect(s) as r:
            for _ in range(30):
                await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
            assert await r.xlen(c.stream_key("hot")) == 30
            await queue.enqueue(r, s, kind="noop", queue="backfill", payload={}, owner="ci")
            with pytest.raises(queue.QueueFullError):
                await queue.enqueue(r, s, kind="noop", queue="backfill", payload={}, owner="ci")

    asyncio.run(body())
