"""Run the capacity search's steps against a target, each a bounded run of ``[workload]``.

A step passes when its run is valid (the generator kept its schedule) and its goodput reaches
``[slo] goodput_min``; an invalid step counts as a failure, and when it is the lowest failure
the result says the capacity was bounded by the generator, not measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from acceptance.settings import SloSettings
from load.capacity.search import Outcome, bounds, next_load
from load.openloop import HttpTarget, run_load
from load.runreport import RunReport, build_report
from load.workload import WorkloadSettings


@dataclass
class SweepResult:
    """Every step, the capacity found and why the search ended."""

    unit: str  # "requests/s" (open loop) or "users" (closed loop)
    steps: list[dict[str, Any]] = field(default_factory=list)
    capacity_load: float | None = None  # highest passing load below the lowest failing one
    failing_load: float | None = None
    capacity_rate: float | None = None  # requests/s served at capacity_load
    stopped_by: str = ""
    generator_limited: bool = False
    wall_s: float = 0.0


def step_record(load: float, report: RunReport, passed: bool, wall_s: float) -> dict[str, Any]:
    """The figures of one step that the table, the chart and the JSON show."""
    summary = report.summary

    def pick(name: str, key: str) -> float | None:
        return None if summary is None else getattr(summary, name).get(key)

    late = report.lateness
    return {
        "load": load,
        "passed": passed,
        "valid": report.valid,
        "invalid_reason": report.invalid_reason,
        "goodput": None if summary is None else summary.goodput,
        "ttft_p50_ms": pick("ttft_ms", "p50"),
        "ttft_p95_ms": pick("ttft_ms", "p95"),
        "itl_p95_ms": pick("itl_ms", "p95"),
        "tpot_p50_ms": pick("tpot_ms", "p50"),
        "e2el_p95_ms": pick("e2el_ms", "p95"),
        "achieved_rate": report.achieved_rate,
        "request_throughput": report.request_throughput,
        "output_throughput": report.output_throughput,
        "lateness_p99_ms": None if late is None else late.p99_ms,
        "late_share": None if late is None else late.late_share,
        "requests": report.requests,
        "errors": None if summary is None else summary.errors,
        "wall_s": wall_s,
    }


async def sweep(
    target: HttpTarget,
    workload: WorkloadSettings,
    slo: SloSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    on_step: Callable[[dict[str, Any]], None] | None = None,
    prior: Sequence[tuple[float, RunReport, float]] = (),
) -> SweepResult:
    """Search until converged, ``max_rate``, ``max_steps`` or the budget; steps one at a time.

    ``prior``: steps already run (load, report, wall seconds), taken as the search's first ones
    and counted in ``max_steps``: the release gate's run at the declared rate is its first step.
    """
    settings = workload.capacity
    closed = workload.arrival == "closed"
    result = SweepResult("users" if closed else "requests/s")
    history: list[Outcome] = []

    def judge(load: float, report: RunReport, wall: float) -> None:
        good = report.summary.goodput if report.summary is not None else None
        passed = report.valid and good is not None and good >= slo.goodput_min
        history.append(Outcome(load, passed))
        record = step_record(load, report, passed, wall)
        result.steps.append(record)
        if on_step is not None:
            on_step(record)

    for done in prior:
        judge(*done)
    started = clock()
    longest = workload.warmup_s + settings.step_duration_s
    while True:
        load, why = next_load(history, settings, integer=closed)
        if load is None:
            result.stopped_by = why
            break
        if len(history) >= settings.max_steps:
            result.stopped_by = "max_steps reached"
            break
        if clock() - started + longest > settings.budget_s:
            result.stopped_by = "budget_s reached"
            break
        step_started = clock()
        report = await _step(target, workload, slo, load, closed)
        wall = clock() - step_started
        longest = max(longest, wall)
        judge(load, report, wall)
    result.capacity_load, result.failing_load = bounds(history)
    by_load = {s["load"]: s for s in result.steps}
    if result.capacity_load is not None:
        result.capacity_rate = by_load[result.capacity_load]["request_throughput"]
        if not closed:  # the rate asked and kept (the throughput also counts the tail)
            result.capacity_rate = result.capacity_load
    if result.failing_load is not None:
        result.generator_limited = not by_load[result.failing_load]["valid"]
    result.wall_s = clock() - started
    return result


async def _step(
    target: HttpTarget, workload: WorkloadSettings, slo: SloSettings, load: float, closed: bool
) -> RunReport:
    duration = workload.capacity.step_duration_s
    if closed:
        sized = workload.model_copy(update={"users": int(load)})
        run = await run_load(target, sized, duration_s=duration)
        return build_report(
            run.records, sized, slo, cancelled=run.cancelled, stopped_early=run.stopped_early
        )
    run = await run_load(target, workload, rate=load, duration_s=duration)
    return build_report(
        run.records,
        workload,
        slo,
        rate=load,
        cancelled=run.cancelled,
        stopped_early=run.stopped_early,
    )
