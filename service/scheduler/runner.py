"""The scheduler loop each worker runs: claim what is due, run it, record how it went.

Every ``scheduler_tick_s`` the loop tries to claim each enabled schedule that is not already
running in this process; the claim script lets exactly one process have a slot. The run goes on
in its own task (a long backup does not delay the purge's claim), bounded by
``scheduler_run_timeout_s``. A failure is recorded with its error and the schedule becomes due
again after ``min(period, scheduler_retry_s)``. Redis trouble is logged and the next tick tries
again: a run whose outcome could not be written is recorded as lost by the next claim, once its
lease has expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.keyspace import keys as c
from service.logs import log_context
from service.scheduler import state
from service.scheduler.schedules import Schedule, schedules
from service.settings import Settings

log = logging.getLogger("service.scheduler")
TRANSIENT = (RedisError, OSError)


class Scheduler:
    """One process's share of the scheduling; ``holder`` names it in records and logs."""

    def __init__(self, redis: Redis, settings: Settings, holder: str) -> None:
        self.redis, self.settings, self.holder = redis, settings, holder
        self.running: dict[str, asyncio.Task[None]] = {}
        self.lease_s = settings.scheduler_run_timeout_s + c.SCHEDULE_LEASE_MARGIN_S

    def _ours(self) -> list[Schedule]:
        return [s for s in schedules(self.settings) if s.task is not None and s.enabled]

    async def tick(self) -> list[state.Run]:
        """Claim each due schedule not running here and start it; the runs started."""
        started = []
        for schedule in self._ours():
            if schedule.name in self.running:
                continue
            run = await state.claim(
                self.redis, schedule.name, schedule.period_s, self.holder, self.lease_s
            )
            if run is None:
                continue
            task = asyncio.create_task(self.execute(schedule, run))
            self.running[schedule.name] = task
            task.add_done_callback(functools.partial(self._ended, schedule.name))
            started.append(run)
        return started

    def _ended(self, name: str, _task: asyncio.Task[None]) -> None:
        self.running.pop(name, None)

    async def execute(self, schedule: Schedule, run: state.Run) -> None:
        """Run one claimed slot and record its outcome (also when interrupted by shutdown)."""
        assert schedule.task is not None
        timeout = self.settings.scheduler_run_timeout_s
        with log_context(schedule=schedule.name, run_id=run.run_id):
            log.info("scheduled %s started (%s)", schedule.name, run.run_id)
            result: dict[str, Any] | None = None
            try:
                result = await asyncio.wait_for(schedule.task(self.settings, self.redis), timeout)
            except asyncio.CancelledError:
                await self._finish(schedule, run, "interrupted: worker shutdown", None)
                raise
            except TimeoutError:
                error = f"timeout: ran longer than {timeout:g}s"
            except Exception as exc:  # any failure of the job is its outcome, never the loop's
                log.exception("scheduled %s failed", schedule.name)
                error = f"{type(exc).__name__}: {exc}"
            else:
                error = ""
            await self._finish(schedule, run, error, result)

    async def _finish(
        self, schedule: Schedule, run: state.Run, error: str, result: dict[str, Any] | None
    ) -> None:
        outcome: state.Outcome = "failed" if error else "succeeded"
        retry = min(schedule.period_s, self.settings.scheduler_retry_s)
        try:
            recorded = await state.finish(
                self.redis, run, outcome, error=error, result=result, retry_s=retry
            )
        except TRANSIENT as exc:
            log.warning(
                "scheduled %s: outcome not recorded (%s); the lease will expire",
                schedule.name,
                type(exc).__name__,
            )
            return
        if not recorded:
            log.warning("scheduled %s: outcome refused, a newer run took over", schedule.name)
        else:
            log.info(
                "scheduled %s %s",
                schedule.name,
                outcome,
                extra={"outcome": outcome, "error": error or None},
            )

    async def run(self, stopping: asyncio.Event) -> None:
        """Tick until ``stopping``; then give running jobs the worker's shutdown grace."""
        if not self.settings.scheduler_enabled:
            log.info("scheduler disabled (scheduler_enabled=false): no scheduled job runs here")
            return
        with contextlib.suppress(*TRANSIENT):
            await state.declare(self.redis, [s.name for s in self._ours()])
        while not stopping.is_set():
            try:
                await self.tick()
            except TRANSIENT as exc:
                log.warning("scheduler tick failed: %s: %s", type(exc).__name__, exc)
            except Exception:  # a bug must show, and must not stop scheduling for good
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.settings.scheduler_tick_s)
        await self.drain(self.settings.worker_shutdown_grace_s)

    async def drain(self, grace_s: float) -> None:
        tasks = set(self.running.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=5.0)
