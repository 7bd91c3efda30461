"""The worker process: ``python -m service.jobs.worker --worker-id worker-1``.

One asyncio loop runs up to ``worker_concurrency`` jobs. Which queue the next job comes from is
a weighted round robin (``Settings.queue_weights``, default 4 hot then 1 backfill; see
``service.jobs.picker``): hot goes first, yet a saturating hot load never starves backfill. Paused
queues (``service.jobs.control``) are skipped. A maintenance task beats the heartbeat, keeps
held entries fresh, claims the work of dead workers and moves due retries; a scheduler task
(``service.scheduler``) runs the periodic jobs whose slot this worker claims.

Failure model: Redis may vanish (restart with AOF): every loop retries with bounded backoff and
recreates the consumer group if it is missing. The worker may be SIGKILLed: its entries stay
pending and are claimed by others (see ``service.jobs.recovery``). SIGTERM: stop taking work, give
in-flight jobs ``worker_shutdown_grace_s``, then release the rest to the queue unrun; exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service import SCHEMA_VERSION, __version__
from service.jobs import heartbeat, picker, recovery
from service.jobs.execution import execute
from service.jobs.queue import (
    BUCKETS_ARG,
    FINISH,
    RELEASE,
    START,
    ensure_groups,
    jitter_factor,
    text,
)
from service.jobs.recovery import Delivery
from service.keyspace import keys as c
from service.logs import log_context
from service.scheduler.runner import Scheduler
from service.settings import Settings, get_settings

log = logging.getLogger("service.jobs.worker")
T = TypeVar("T")
TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)


class Worker:
    """One worker process's state: what it holds, what it runs, when to stop."""

    def __init__(self, redis: Redis, settings: Settings, worker_id: str) -> None:
        self.redis, self.settings, self.worker_id = redis, settings, worker_id
        # Unique per process: a restarted "worker-1" must not inherit its predecessor's entries
        # as if they were its own; they are recovered as a dead consumer's instead.
        self.consumer = f"{worker_id}:{os.getpid()}:{secrets.token_hex(3)}"
        self.started_at = time.time()
        self.stopping = asyncio.Event()
        self.backlog: deque[Delivery] = deque()
        self.running: dict[str, Delivery] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(settings.worker_concurrency)
        self.turns = picker.WeightedRoundRobin(
            {str(q): w for q, w in settings.queue_weights.items()}
        )
        self.jobs_done = 0

    # ---- resilience -------------------------------------------------------------------------
    async def retrying(
        self, what: str, op: Callable[[], Awaitable[T]], deadline: float | None = None
    ) -> T | None:
        """Run ``op`` until it succeeds; back off on a lost Redis; None when stopped or late."""
        delay = c.RECONNECT_BACKOFF_MIN_S
        while True:
            try:
                return await op()
            except TRANSIENT as exc:
                log.warning("redis unavailable during %s: %s", what, exc)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("consumer group missing during %s; recreating", what)
                await self.retrying("ensure_groups", lambda: ensure_groups(self.redis))
                continue
            if deadline is not None and time.monotonic() > deadline:
                return None
            if self.stopping.is_set():
                if deadline is None:
                    return None
                await asyncio.sleep(delay)  # finishing work at shutdown: keep the backoff
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
            delay = min(c.RECONNECT_BACKOFF_MAX_S, delay * 2)

    # ---- picking work -----------------------------------------------------------------------
    async def next_delivery(self) -> Delivery | None:
        """A claimed entry first (it has waited longest), else the next pick of the round robin;
        None after waiting up to half a heartbeat with nothing to take."""
        if self.backlog:
            return self.backlog.popleft()
        got, waits = await picker.read_one(self.redis, self.consumer, self.turns.order())
        if got is None:
            block_ms = max(10, int(min(1.0, self.settings.worker_heartbeat_s / 2) * 1000))
            await picker.wait_for_work(self.redis, waits, block_ms)
            got, _ = await picker.read_one(self.redis, self.consumer, self.turns.order())
        if got is not None:
            self.turns.took(got.queue)
        return got

    async def fetch_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                await asyncio.wait_for(self.slots.acquire(), 0.5)
            except TimeoutError:
                continue
            delivery = await self.retrying("read", self.next_delivery)
            if delivery is None or self.stopping.is_set():
                if delivery is not None:
                    self.backlog.appendleft(delivery)
                self.slots.release()
                continue
            self.running[delivery.entry] = delivery
            task = asyncio.create_task(self.handle(delivery))
            self.tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("job task crashed", exc_info=task.exception())

    # ---- running one job --------------------------------------------------------------------
    async def handle(self, d: Delivery) -> None:
        try:
            await self._handle(d)
        finally:
            self.running.pop(d.entry, None)

    async def _handle(self, d: Delivery) -> None:
        s = self.settings
        token = secrets.token_hex(12)
        keys = [
            c.job_key(d.job_id),
            c.stream_key(d.queue),
            c.DEAD_KEY,
            c.active_key(d.queue),
            c.STATS_KEY,
        ]
        dead_letter = "1" if s.dead_letter_enabled else "0"
        args = [
            d.entry,
            self.worker_id,
            token,
            c.CONSUMER_GROUP,
            s.job_retention_s,
            c.ATTEMPT_HISTORY_MAX,
            BUCKETS_ARG,
            dead_letter,
        ]
        reply = await self.retrying("start", lambda: START(self.redis, keys, args))
        if reply is None or text(reply[0]) != "run":
            return
        # The request that enqueued the job: every record of the attempt carries its id.
        request_id = text(reply[7]) if len(reply) > 7 else ""
        with log_context(job_id=d.job_id, request_id=request_id or None):
            await self._attempt(d, token, reply)

    async def _attempt(self, d: Delivery, token: str, reply: list[Any]) -> None:
        s = self.settings
        dead_letter = "1" if s.dead_letter_enabled else "0"
        kind, payload, attempt, max_attempts = (
            text(reply[1]),
            text(reply[2]),
            int(reply[3]),
            int(reply[4]),
        )
        log.info(
            "job %s attempt %d/%d started (%s, %s)", d.job_id, attempt, max_attempts, kind, d.queue
        )
        try:
            outcome = await execute(kind, payload, d.job_id, attempt, max_attempts, float(reply[5]))
        except asyncio.CancelledError:
            await self.release(d, token)
            raise
        ok, body, final = outcome
        finish_keys = [
            c.job_key(d.job_id),
            c.stream_key(d.queue),
            c.RETRY_KEY,
            c.DEAD_KEY,
            c.active_key(d.queue),
            c.STATS_KEY,
        ]
        finish_args = [
            token,
            c.CONSUMER_GROUP,
            "ok" if ok else "fail",
            body,
            s.job_retention_s,
            c.ATTEMPT_HISTORY_MAX,
            s.retry_base_s,
            s.retry_max_s,
            jitter_factor(s),
            BUCKETS_ARG,
            "1" if final else "0",
            dead_letter,
        ]
        deadline = time.monotonic() + 2 * s.job_visibility_timeout_s
        done = await self.retrying(
            "finish", lambda: FINISH(self.redis, finish_keys, finish_args), deadline
        )
        status = text(done[0]) if done is not None else "unrecorded"
        if status == "fenced":
            log.warning(
                "job %s attempt %d: outcome refused, the job was taken over", d.job_id, attempt
            )
        else:
            self.jobs_done += 1
            log.info(
                "job %s attempt %d: %s",
                d.job_id,
                attempt,
                status,
                extra={"kind": kind, "outcome": status},
            )

    async def release(self, d: Delivery, token: str) -> None:
        """Give an interrupted attempt back to the queue (SIGTERM past the grace period)."""
        keys = [c.job_key(d.job_id), c.stream_key(d.queue)]
        args = [token, c.CONSUMER_GROUP, c.ATTEMPT_HISTORY_MAX, "abandoned: worker shutdown"]
        deadline = time.monotonic() + 2.0
        await self.retrying("release", lambda: RELEASE(self.redis, keys, args), deadline)
        log.info("job %s released at shutdown", d.job_id)

    # ---- maintenance ------------------------------------------------------------------------
    def info(self) -> heartbeat.WorkerInfo:
        return heartbeat.WorkerInfo(
            id=self.worker_id,
            pid=os.getpid(),
            age_s=0.0,
            version=__version__,
            schema_version=SCHEMA_VERSION,
            jobs_done=self.jobs_done,
            consumer=self.consumer,
            started_at=self.started_at,
        )

    async def maintain_once(self) -> None:
        await heartbeat.write_heartbeat(self.redis, self.settings, self.info())
        await recovery.touch(self.redis, self.consumer, [*self.backlog, *self.running.values()])
        room = max(0, self.settings.worker_concurrency - len(self.backlog))
        if room and not self.stopping.is_set():
            alive = {w.consumer for w in await heartbeat.list_workers(self.redis, self.settings)}
            self.backlog.extend(
                await recovery.claim_from_dead(
                    self.redis, self.settings, self.consumer, alive, room
                )
            )
            room = max(0, self.settings.worker_concurrency - len(self.backlog))
            if room:
                self.backlog.extend(
                    await recovery.autoclaim(self.redis, self.settings, self.consumer, room)
                )

    async def maintain_loop(self) -> None:
        next_beat = 0.0
        while not self.stopping.is_set():
            if time.monotonic() >= next_beat:
                await self.retrying("maintenance", self.maintain_once)
                next_beat = time.monotonic() + self.settings.worker_heartbeat_s
            await self.retrying("retries", lambda: recovery.move_due_retries(self.redis))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), 0.1)

    async def run(self) -> None:
        await self.retrying("ensure_groups", lambda: ensure_groups(self.redis))
        await self.retrying(
            "heartbeat", lambda: heartbeat.write_heartbeat(self.redis, self.settings, self.info())
        )
        log.info("worker %s started (consumer %s)", self.worker_id, self.consumer)
        maintenance = asyncio.create_task(self.maintain_loop())
        # Every worker ticks; the claim script lets one of them run each due slot.
        scheduling = asyncio.create_task(
            Scheduler(self.redis, self.settings, self.consumer).run(self.stopping)
        )
        await self.fetch_loop()
        if self.tasks:
            grace = self.settings.worker_shutdown_grace_s
            log.info("stopping: waiting up to %.1fs for %d jobs", grace, len(self.tasks))
            _, late = await asyncio.wait(set(self.tasks), timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5.0)
        await maintenance
        await scheduling
        # On failure the key expires on its own; other workers then claim what is left.
        with contextlib.suppress(*TRANSIENT):
            await heartbeat.remove_heartbeat(self.redis, self.worker_id)
        log.info("worker %s stopped", self.worker_id)


def make_redis(settings: Settings) -> Redis:
    """Timeouts bound every call: a hung Redis must surface as an error the loops retry."""
    return Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_timeout=10.0,
        health_check_interval=5,
    )


async def serve(settings: Settings, worker_id: str) -> None:
    redis = make_redis(settings)
    worker = Worker(redis, settings, worker_id)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stopping.set)
    try:
        await worker.run()
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.jobs.worker", description=__doc__)
    parser.add_argument(
        "--worker-id",
        required=True,
        metavar="ID",
        help="stable name of this worker (heartbeat key, logs)",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        from service.logs import configure_logging
    except ImportError:  # the logging module is optional for the worker's own tests
        logging.basicConfig(level=settings.log_level)
    else:
        configure_logging(settings, args.worker_id)
    asyncio.run(serve(settings, args.worker_id))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
