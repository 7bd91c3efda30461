"""The vLLM emulator's batching mode: the engine of `service/emulators/batching` on the wall clock.

One driver task per server runs the engine's steps when their (engine) start time comes, on
`time.monotonic()`. It never computes a step before its start, so it has seen every request
submitted before then; it never lets its own lateness move a step (a late wake-up computes the
step that was due, at its due time), so the schedule it serves is exactly the one
`service.emulators.batching.replay` computes offline from the same submissions. Each request
holds a `Ticket` the driver fills with the due time of every token (end of the producing step +
the delivery delay); the request's handler writes each chunk when it is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from service.emulators.batching.engine import EngineRequest, Schedule, StepResult
from service.emulators.batching.prefix import block_hashes
from service.emulators.batching.runner import EngineRunner
from service.emulators.config import EmulatorConfig, engine_params
from service.emulators.pacing import FIRST_CHUNK_LEAD_S, sleep_until
from service.emulators.state import EmulatorState
from service.emulators.vllm.metrics import VllmMetrics

log = logging.getLogger(__name__)


class EngineFailed(RuntimeError):
    """The driver task died; requests in flight cannot be finished."""


class Ticket:
    """One request's view of the engine: due times of its tokens as they are produced."""

    def __init__(self, request_id: str, submitted_at: float, admitted_at: float) -> None:
        self.request_id = request_id
        self.submitted_at, self.admitted_at = submitted_at, admitted_at
        self.due: list[float] = []
        self.schedule: Schedule | None = None
        self.done_due: float | None = None  # when the answer is complete on the wire
        self.aborted_at: float | None = None
        self.failed = False
        self._changed = asyncio.Event()

    def notify(self) -> None:
        self._changed.set()

    async def _changed_or_failed(self) -> None:
        if self.failed:
            raise EngineFailed("the engine stopped")
        self._changed.clear()
        await self._changed.wait()

    async def ticks(self, chunk_ends: list[int], *, done_first: bool = False) -> AsyncIterator[int]:
        """Yield chunk k when its last token (index `chunk_ends[k]`) is due; `done_first`: not
        before the engine is done with the request (an empty answer waits for its prefill)."""
        if done_first:
            await self.complete()
        for k, last in enumerate(chunk_ends):
            while len(self.due) <= last:
                await self._changed_or_failed()
            await sleep_until(self.due[last], FIRST_CHUNK_LEAD_S if k == 0 else 0.0)
            yield k

    async def complete(self) -> None:
        """Return when the whole answer is due (non-streaming responses)."""
        while self.done_due is None:
            await self._changed_or_failed()
        await sleep_until(self.done_due)

    def facts(self, t0: float) -> dict[str, Any]:
        """The request-log fields: engine times (monotonic s) for replay, the rest in ms
        relative to the request's arrival like every other duration of the log."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round((value - t0) * 1000, 3)

        s = self.schedule
        first = s.first_token_at if s else None
        return {
            "engine": "batching",
            "submitted_at": self.submitted_at,
            "admitted_at": self.admitted_at,
            "admitted_ms": ms(self.admitted_at),
            "scheduled_ms": ms(s.scheduled_at if s else None),
            "first_token_engine_ms": ms(first),
            "first_token_due_ms": ms(self.due[0] if self.due else None),
            "last_token_due_ms": ms(self.due[-1] if self.due else None),
            "engine_tokens": len(self.due),
            "preemptions": s.preemptions if s else 0,
            "cached_tokens": s.cached_tokens if s else 0,
            "aborted_ms": ms(self.aborted_at),
        }


class BatchingDriver:
    """Runs one engine for one emulator; `submit()` from handlers, the rest is the task."""

    def __init__(self, state: EmulatorState, metrics: VllmMetrics) -> None:
        self.state, self.metrics = state, metrics
        self.runner = EngineRunner(engine_params(state.config))
        self.tickets: dict[str, Ticket] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._rebuild = False
        self._ids = itertools.count()
        state.reset_hooks.append(self.reset)

    def load(self) -> tuple[int, int, float]:
        """(running, waiting, KV-cache usage) as vLLM's gauges report them: the engine core's
        scheduler state (a request still in the API server's admission delay is in neither)."""
        engine = self.runner.engine
        return len(engine.running), len(engine.waiting), engine.kv.usage

    def describe(self) -> dict[str, Any]:
        """For GET /_emulator/state: the engine's queue, batch and cache right now."""
        running, waiting, usage = self.load()
        return {"engine_running": running, "engine_waiting": waiting, "kv_cache_usage": usage}

    def reset(self) -> None:
        """A fresh engine (empty prefix cache) as soon as nothing is in flight."""
        self._rebuild = True
        self._maybe_rebuild()

    def submit(self, prompt: list[str], output_tokens: int) -> Ticket:
        """Hand a request (its prompt's tokens, the length of its answer) to the engine now.
        Raises `RequestTooLarge` for one the engine could never hold."""
        self._sync_params(self.state.config)
        self._maybe_rebuild()
        hashes = block_hashes(prompt, self.runner.engine.params.cache.block_size)
        request = EngineRequest(f"r{next(self._ids)}", len(prompt), output_tokens, hashes)
        now = time.monotonic()
        admitted = self.runner.submit(request, now)
        ticket = Ticket(request.request_id, now, admitted)
        self.tickets[request.request_id] = ticket
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()
        return ticket

    def abort(self, ticket: Ticket) -> None:
        """The client left (or the answer was cut short): free its place in the engine."""
        if ticket.schedule is not None or ticket.aborted_at is not None or ticket.failed:
            return
        ticket.aborted_at = time.monotonic()
        self.runner.abort(ticket.request_id, ticket.aborted_at)
        self._wake.set()

    def _sync_params(self, config: EmulatorConfig) -> None:
        """Cost and limits apply from the next step; a new cache geometry once idle."""
        wanted = engine_params(config)
        current = self.runner.engine.params
        self.runner.engine.params = replace(wanted, cache=current.cache)
        if wanted.cache != current.cache:
            self._rebuild = True

    def _maybe_rebuild(self) -> None:
        if self._rebuild and self.runner.idle():
            self.runner = EngineRunner(engine_params(self.state.config))
            self._rebuild = False

    async def _run(self) -> None:
        try:
            await self._loop()
        except Exception:
            log.exception("the batching engine failed; failing the requests in flight")
            for ticket in self.tickets.values():
                ticket.failed = True
                ticket.notify()
            self.tickets.clear()
            self.runner = EngineRunner(engine_params(self.state.config))
            self._task = None

    async def _loop(self) -> None:
        while True:
            start = self.runner.next_start()
            if start is None:
                self._maybe_rebuild()
                await self._sleep(None)
                continue
            if time.monotonic() < start:
                await self._sleep(start)  # a submission may bring an earlier start: recompute
                continue
            self._sync_params(self.state.config)
            result, aborted = self.runner.advance(start)
            for schedule in aborted:
                self._finish(schedule, None)
            if result is not None:
                self._dispatch(result, self.runner.params.cost.delivery_s())

    async def _sleep(self, deadline: float | None) -> None:
        """Until `deadline` (monotonic) or the next submission/abort, whichever comes first."""
        self._wake.clear()
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def _dispatch(self, result: StepResult, delivery_s: float) -> None:
        due = result.end + delivery_s
        for request_id, _ in result.tokens:
            ticket = self.tickets.get(request_id)
            if ticket is not None:
                ticket.due.append(due)
                ticket.notify()
        for schedule in result.finished:
            self._finish(schedule, due)
        self.metrics.engine.observe_step(result)

    def _finish(self, schedule: Schedule, done_due: float | None) -> None:
        ticket = self.tickets.pop(schedule.request_id, None)
        if ticket is None:
            return
        ticket.schedule = schedule
        ticket.done_due = done_due if done_due is not None else time.monotonic()
        ticket.notify()
        if not schedule.aborted:
            self.metrics.engine.observe_finished(schedule)
