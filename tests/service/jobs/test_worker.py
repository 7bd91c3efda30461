"""The worker: priority, retries with backoff, and recovery from a SIGKILLed worker process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import datetime
from functools import partial
from typing import Any

from redis.asyncio import Redis

from service.jobs import control, queue
from service.jobs.worker import Worker
from service.settings import Settings
from service.waiting import apoll_until
from tests.support.jobs import connect, fresh_settings, running_worker, settings_env


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def _status(r: Redis, job_id: str, *statuses: str) -> dict[str, Any] | None:
    record = await queue.get_job(r, job_id)
    return record if record and record["status"] in statuses else None


def test_hot_first_and_backfill_not_starved(redis_server: str) -> None:
    """Default weights: 4 hot then 1 backfill; an empty queue's turn passes to the other."""
    s = fresh_settings(redis_server)

    async def body() -> None:
        async with connect(s) as r:
            await queue.ensure_groups(r)
            for _ in range(6):
                await queue.enqueue(r, s, kind="noop", queue="backfill", payload={}, owner="ci")
            for _ in range(10):
                await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
            worker = Worker(r, s, "w-order")
            picked = []
            for _ in range(16):
                d = await worker.next_delivery()
                assert d is not None
                picked.append(d.queue[0])
            assert "".join(picked) == "hhhhbhhhhbhhbbbb"

    asyncio.run(body())


def test_running_worker_skips_paused_queue_until_resumed(redis_server: str) -> None:
    """Paused hot: a later backfill job runs while hot waits (depth == size); resumed, hot runs."""
    s = fresh_settings(redis_server)

    async def body() -> None:
        async with connect(s) as r, running_worker(r, s):
            await control.set_paused(r, s, ["hot"], paused=True)
            hot = [
                await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
                for _ in range(3)
            ]
            late = await queue.enqueue(r, s, kind="noop", queue="backfill", payload={}, owner="ci")
            await apoll_until(
                lambda: _status(r, late.job_id, "succeeded"),
                timeout=10,
                interval=0.02,
                message="backfill job",
            )
            state = (await control.queue_state(r, s))["hot"]
            assert (state["depth"], state["size"], state["paused"]) == (3, 3, True)
            for job in hot:
                assert await _status(r, job.job_id, "queued")
            await control.set_paused(r, s, ["hot"], paused=False)
            for job in hot:
                await apoll_until(
                    partial(_status, r, job.job_id, "succeeded"),
                    timeout=10,
                    interval=0.02,
                    message="hot job",
                )

    asyncio.run(body())


def test_transient_failures_retry_with_backoff_then_succeed(redis_server: str) -> None:
    """fail_times=2: attempts 1 and 2 fail, 3 succeeds; gaps follow base * 2**(n-1)."""
    s = fresh_settings(redis_server, retry_base_s=0.3, job_max_attempts=5)

    async def body() -> None:
        async with connect(s) as r, running_worker(r, s):
            job = await queue.enqueue(
                r, s, kind="probe", queue="hot", payload={"fail_times": 2}, owner="ops"
            )
            record = await apoll_until(
                lambda: _status(r, job.job_id, "succeeded"),
                timeout=15,
                interval=0.02,
                message="success",
            )
            assert record["attempts"] == 3
            history = record["attempt_history"]
            assert [h["error"] for h in history] == [
                "probe: planned failure 1",
                "probe: planned failure 2",
                None,
            ]
            for n in (1, 2):
                gap = _t(history[n]["started_at"]) - _t(history[n - 1]["finished_at"])
                expected = s.retry_base_s * 2 ** (n - 1)
                assert expected <= gap < expected + 0.5, (n, gap)
            assert record["result"]["attempt"] == 3

    asyncio.run(body())


def test_always_failing_job_goes_dead_and_requeue_runs_it_again(redis_server: str) -> None:
    """After max attempts the job is dead with its error; requeued, it runs (and dies) again."""
    s = fresh_settings(redis_server, retry_base_s=0.05, job_max_attempts=2)

    async def body() -> None:
        async with connect(s) as r, running_worker(r, s):
            job = await queue.enqueue(
                r, s, kind="probe", queue="backfill", payload={"always_fail": True}, owner="ops"
            )
            record = await apoll_until(
                lambda: _status(r, job.job_id, "dead"), timeout=10, interval=0.02, message="dead"
            )
            assert record["attempts"] == 2 and record["error"] == "probe: planned failure 2"
            assert (await queue.queue_depths(r))["dead"] == 1
            await queue.requeue_dead(r, s, job.job_id)
            record = await apoll_until(
                lambda: _status(r, job.job_id, "dead"),
                timeout=10,
                interval=0.02,
                message="dead again",
            )
            assert len(record["attempt_history"]) == 4

    asyncio.run(body())


def _spawn(s: Settings, worker_id: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "service.jobs.worker", "--worker-id", worker_id],
        env=settings_env(s),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_job_of_sigkilled_worker_is_recovered_and_succeeds_once(redis_server: str) -> None:
    """SIGKILL mid-job: another worker takes the job long before the visibility timeout."""
    s = fresh_settings(redis_server, job_visibility_timeout_s=60.0)
    victim = _spawn(s, "victim")
    rescuer: subprocess.Popen[bytes] | None = None

    async def body() -> None:
        nonlocal rescuer
        async with connect(s) as r:
            job = await queue.enqueue(
                r, s, kind="probe", queue="hot", payload={"duration_s": 1.5}, owner="ops"
            )
            await apoll_until(
                lambda: _status(r, job.job_id, "running"),
                timeout=15,
                interval=0.02,
                message="victim starts the job",
            )
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(5)
            rescuer = _spawn(s, "rescuer")
            record = await apoll_until(
                lambda: _status(r, job.job_id, "succeeded"),
                timeout=20,
                interval=0.02,
                message="recovery",
            )
            assert record["worker_id"] == "rescuer"
            assert [h["error"] is None for h in record["attempt_history"]] == [False, True]
            assert record["attempt_history"][0]["error"].startswith("lost: worker victim")

    try:
        asyncio.run(body())
    finally:
        for proc in (victim, rescuer):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)


def test_sigterm_releases_running_job_and_exits_zero(redis_server: str) -> None:
    """SIGTERM past the grace period: exit 0 promptly, the job queued again, attempt not charged."""
    s = fresh_settings(redis_server, worker_shutdown_grace_s=0.2)
    proc = _spawn(s, "leaver")

    async def body() -> None:
        async with connect(s) as r:
            job = await queue.enqueue(
                r, s, kind="probe", queue="hot", payload={"duration_s": 30}, owner="ops"
            )
            await apoll_until(
                lambda: _status(r, job.job_id, "running"),
                timeout=15,
                interval=0.02,
                message="job starts",
            )
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 10) == 0
            record = await queue.get_job(r, job.job_id)
            assert record is not None and (record["status"], record["attempts"]) == ("queued", 0)
            assert record["attempt_history"][0]["error"] == "abandoned: worker shutdown"

    try:
        asyncio.run(body())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
