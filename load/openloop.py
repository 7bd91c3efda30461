"""The asyncio + httpx load driver of the checks and of ``python -m load.capacity``.

Open loop (``constant``, ``poisson``, ``gamma``, ``trace``): each session is started at its
planned arrival whether or not earlier ones were answered, so a slow target meets more traffic,
as it would in production; a closed loop (``closed``) has ``users`` sessions in flight, each
starting its next when the last ends, as Locust's ChatUser does. Each request records when it
was scheduled and when it was actually sent: a generator that fell behind shows as lateness,
and ``load/runreport.py`` refuses its latencies (coordinated omission).

Every stream is measured by ``load.streaming`` (the checks' and Locust's one measurement). The
in-flight cap is taken *before* the send is stamped, so a request waiting for it is late, not
slow. The run is bounded: arrivals end with the plan, and streams still open
``request_timeout_s`` per remaining turn after that are cancelled and counted.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import math
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from load.conversation import Conversation
from load.plan import RunPlan, SessionPlan, plan_run, session
from load.streaming import chat_body, measure_stream_async
from load.workload import WorkloadSettings

REQUEST_ID_PREFIX = "load-"
# Connections opened before the first arrival, so early TTFTs carry no TCP/TLS set-up; later
# ones open as needed (during the warm-up at a steady rate). Few: httpcore scans its whole pool
# on every request and every response close, so idle connections cost the sender CPU (with 32,
# sends at 50/s were late by tens of ms on the 2-core machine).
PREWARM_MAX = 8
# asyncio's timers fire up to 1 ms late (the selector's timeout is rounded up to whole
# milliseconds): a wait ends on a timer this much early, then by yielding.
TIMER_SLACK_S = 0.0011
# A closed-loop user pauses this long after a failed session.
FAILURE_PAUSE_S = 1.0
# The first arrival is this far after the schedule's zero, so setting up does not make it late.
LEAD_S = 0.05


@dataclass(frozen=True)
class HttpTarget:
    """Where the streams go: a base URL serving ``/v1/chat/completions``."""

    url: str
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    verify: ssl.SSLContext | bool = True


@dataclass
class LoadRun:
    """The raw records of one run (one per request, warm-up ones flagged) and its shape."""

    records: list[dict[str, Any]]
    arrival: str
    rate: float | None  # asked rate of new sessions; None: closed loop or a trace's timing
    span_s: float  # arrivals were planned over this long (closed loop: how long users started)
    wall_s: float
    warmup_s: float
    cancelled: int = 0  # sessions cut at the run's deadline
    stopped_early: bool = False  # arrivals stopped: so many late sends the run is invalid


@dataclass
class _Run:
    """State shared by the sessions of one run."""

    client: httpx.AsyncClient
    target: HttpTarget
    workload: WorkloadSettings
    t0: float
    gate: asyncio.Semaphore
    clock: Callable[[], float]
    open_loop: bool = True  # a closed loop has no schedule to be late for
    records: list[dict[str, Any]] = field(default_factory=list)
    late: int = 0  # counted sends later than late_ms so far


async def _sleep_until(run: _Run, at: float) -> None:
    """Wait for ``at`` (the load shape itself: arrivals are points in time). The timer is set
    TIMER_SLACK_S early and the rest is waited by yielding to the other streams, so gaps do not
    carry the timer's millisecond of jitter; when already past ``at`` it still yields once, so
    a scheduler behind its schedule lets the sessions it started run (and be seen late)."""
    remaining = at - run.clock()
    if remaining > TIMER_SLACK_S:
        await asyncio.sleep(remaining - TIMER_SLACK_S)
    await asyncio.sleep(0)
    while run.clock() < at:
        await asyncio.sleep(0)


async def _session(run: _Run, plan: SessionPlan, scheduled: float) -> bool:
    """Send the turns of one session; a failed turn ends it (there is no answer to carry).
    Whether every turn succeeded."""
    talk = Conversation(run.workload, plan, run.target.model)
    for number in range(len(plan.turns)):
        if number:
            scheduled = talk.due(number, run.clock(), run.t0)
            await _sleep_until(run, scheduled)
        body = talk.body(number)
        request_id = REQUEST_ID_PREFIX + uuid.uuid4().hex
        async with run.gate:
            sent = run.clock()
            result = await measure_stream_async(
                run.client,
                body,
                headers={"X-Request-ID": request_id},
                keep_content=talk.keep_answer(number),
            )
        result.request_id = result.request_id or request_id
        record = talk.record(
            result,
            number,
            scheduled_s=scheduled - run.t0,
            sent_s=sent - run.t0,
            open_loop=run.open_loop,
        )
        run.records.append(record)
        if not record["warmup"] and (record["lateness_ms"] or 0.0) > run.workload.late_ms:
            run.late += 1
        if not result.ok:
            return False
    return True


async def _prewarm(client: httpx.AsyncClient, count: int, model: str) -> None:
    """Open connections, then send one short stream: the first request through httpx and
    the measurement pays one-off costs (lazy imports, buffers) that would make early sends
    late. Neither is measured; failures show in the run's own streams."""

    async def one() -> None:
        try:
            await client.get("/v1/models")
        except httpx.HTTPError:
            return

    await asyncio.gather(*(one() for _ in range(count)))
    await measure_stream_async(client, chat_body(model, 1))


async def _finish(
    tasks: Sequence[asyncio.Task[Any]], deadline: float, clock: Callable[[], float]
) -> int:
    """Wait for the sessions until the deadline; cancel the rest and say how many."""
    if not tasks:
        return 0
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - clock()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return len(pending)


async def _open(run: _Run, plan: RunPlan) -> tuple[int, bool]:
    """Start the sessions at their arrivals; stop early once so many sends were late that the
    run is invalid whatever follows (a generator that cannot keep up need not go on trying)."""
    tasks: list[asyncio.Task[bool]] = []
    workload = run.workload
    hopeless = workload.late_share_max * len(plan.sessions)
    behind = 0  # arrivals the scheduler itself reached late: their sends can only be later
    stopped = False
    for planned in plan.sessions:
        if max(run.late, behind) > hopeless:
            stopped = True
            break
        at = run.t0 + planned.offset_s
        await _sleep_until(run, at)
        if planned.offset_s >= workload.warmup_s and run.clock() - at > workload.late_ms / 1000:
            behind += 1
        tasks.append(asyncio.create_task(_session(run, planned, at)))
    turns = max(len(s.turns) for s in plan.sessions)
    deadline = run.t0 + plan.span_s + _tail_s(run.workload, turns)
    return await _finish(tasks, deadline, run.clock), stopped


async def _closed(run: _Run, span_s: float) -> int:
    counter = itertools.count()
    stop = run.t0 + span_s

    async def user() -> None:
        while run.clock() < stop:
            now = run.clock()
            if not await _session(run, session(run.workload, next(counter), now - run.t0), now):
                # A refusing target must not be hammered in a tight loop (as Locust's ChatUser).
                await asyncio.sleep(FAILURE_PAUSE_S)

    tasks = [asyncio.create_task(user()) for _ in range(run.workload.users)]
    deadline = stop + _tail_s(run.workload, run.workload.sessions.turns)
    return await _finish(tasks, deadline, run.clock)


def _tail_s(workload: WorkloadSettings, turns: int) -> float:
    """How long the last sessions may run on after the last arrival."""
    return turns * (workload.request_timeout_s + workload.sessions.think_time_s)


async def run_load(
    target: HttpTarget,
    workload: WorkloadSettings,
    *,
    rate: float | None = None,
    duration_s: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> LoadRun:
    """One bounded run of ``workload`` (``rate`` and ``duration_s`` override its own). The plan
    is made, and refused with PlanError, before the first request."""
    closed = workload.arrival == "closed"
    plan = None if closed else plan_run(workload, rate=rate, duration_s=duration_s)
    span = workload.warmup_s + (workload.duration_s if duration_s is None else duration_s)
    in_flight = workload.users if closed else workload.max_in_flight
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    timeout = httpx.Timeout(workload.request_timeout_s)
    async with httpx.AsyncClient(
        base_url=target.url,
        headers=target.headers,
        verify=target.verify,
        timeout=timeout,
        limits=limits,
    ) as client:
        asked = workload.users if closed else (rate or workload.rate)
        await _prewarm(client, min(in_flight, PREWARM_MAX, max(1, math.ceil(asked))), target.model)
        # Objects alive now are never garbage: moved out of the collector's way, a full
        # collection during the run (tens of ms, every sender stopped) scans only the run's own
        # objects. vLLM's benchmark does the same (freeze_gc_heap).
        gc.collect()
        gc.freeze()
        try:
            started = clock()
            gate = asyncio.Semaphore(in_flight)
            run = _Run(client, target, workload, started + LEAD_S, gate, clock, not closed)
            stopped = False
            if plan is None:
                cancelled = await _closed(run, span)
            else:
                cancelled, stopped = await _open(run, plan)
                span = plan.span_s
            wall = clock() - started
        finally:
            gc.unfreeze()
    shown_rate = None if closed or plan is None else plan.rate
    return LoadRun(
        run.records,
        workload.arrival,
        shown_rate,
        span,
        wall,
        workload.warmup_s,
        cancelled,
        stopped_early=stopped,
    )
