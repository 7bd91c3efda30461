"""The gate's capacity figure: the highest arrival rate of the declared workload meeting the SLO.

``load.concurrent-users`` records it (``capacity_rate``) from a short search: the run at the
declared rate is its first step, then ``[workload.gate] capacity_steps`` more of
``[workload.capacity]``'s search (growth, then bisection), each a few seconds. Its resolution is
the search's (with growth 2 and two steps: "at least 8, less than 16 requests/s"); ``python -m
load.capacity`` measures the figure to ``tolerance``. ``post1h.performance-stable`` holds it
against the baseline with the relative rule of ``load.capacity --baseline`` (capacity below the
baseline's x (1 - ``regression_tolerance``) regressed), tested directly: one step at exactly
that rate must still meet the SLO. One step decides it whatever the search's resolution, and a
figure of the coarse search cannot make a false regression.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from acceptance.harness.runstate import RUN_STATE
from acceptance.reports import baseline
from acceptance.reports.charts import line_chart
from acceptance.settings import SloSettings, SuiteConfig
from acceptance.support.declared_load import DeclaredRun, step_workload
from load.capacity.sweep import SweepResult, step_record, sweep
from load.openloop import HttpTarget
from load.run import measure
from load.workload import WorkloadSettings

ITEM = "load.concurrent-users"
FIGURE = "capacity_rate"
# Figures of a step shown in the evidence (the rest of load.capacity's record is its table's).
STEP_KEYS = (
    "load",
    "passed",
    "valid",
    "goodput",
    "achieved_rate",
    "ttft_p50_ms",
    "ttft_p95_ms",
    "itl_p95_ms",
    "e2el_p95_ms",
    "lateness_p99_ms",
    "requests",
    "errors",
    "wall_s",
    "invalid_reason",
)


def gate_capacity(declared: DeclaredRun, slo: SloSettings) -> SweepResult:
    """The gate's search, its first step the run at the declared rate."""
    workload = step_workload(declared.workload)
    prior = [(declared.workload.rate, declared.report, declared.wall_s)]
    return asyncio.run(sweep(declared.chat, workload, slo, prior=prior))


def rate_step(
    chat: HttpTarget, workload: WorkloadSettings, slo: SloSettings, rate: float
) -> dict[str, Any]:
    """One capacity step of the gate at ``rate``: passed when valid and goodput is met."""
    sized = step_workload(workload)
    started = time.monotonic()
    _, report = measure(chat, sized, slo, rate=rate, duration_s=workload.capacity.step_duration_s)
    good = report.summary.goodput if report.summary is not None else None
    passed = report.valid and good is not None and good >= slo.goodput_min
    return compact(step_record(rate, report, passed, time.monotonic() - started))


def compact(step: dict[str, Any]) -> dict[str, Any]:
    """A step's figures for the evidence, rounded."""
    shown = {key: step.get(key) for key in STEP_KEYS}
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in shown.items()}


def capacity_evidence(result: SweepResult, slo: SloSettings) -> dict[str, Any]:
    """The figure, the failing rate above it, every step, and the two charts of load.capacity."""
    steps = sorted(result.steps, key=lambda s: s["load"])

    def series(key: str) -> list[list[float]]:
        return [[round(s["load"], 3), round(s[key], 2)] for s in steps if s.get(key) is not None]

    latency = {
        "TTFT p50": series("ttft_p50_ms"),
        "TTFT p95": series("ttft_p95_ms"),
        "ITL p95": series("itl_p95_ms"),
    }
    return {
        FIGURE: result.capacity_rate,
        "capacity_failing_rate": result.failing_load,
        "capacity_stopped_by": result.stopped_by,
        "capacity_generator_limited": result.generator_limited,
        "capacity_steps": [compact(s) for s in result.steps],
        "capacity_search_s": round(result.wall_s, 2),
        "capacity_latency_chart": line_chart(
            "Latency against the arrival rate (capacity steps)",
            {name: points for name, points in latency.items() if points},
            x_label="arrival rate (requests/s)",
            y_label="latency (ms)",
            hlines={"SLO TTFT p95": slo.ttft_p95_ms, "SLO ITL p95": slo.itl_p95_ms},
        ),
        "capacity_goodput_chart": line_chart(
            "Goodput against the arrival rate (capacity steps)",
            {"goodput": series("goodput")},
            x_label="arrival rate (requests/s)",
            y_label="share of requests meeting the SLOs",
            hlines={"goodput_min": slo.goodput_min},
        ),
    }


def capacity_baseline(
    request: pytest.FixtureRequest, config: SuiteConfig
) -> tuple[str, float] | str:
    """(what the baseline is, its capacity): the previous run's load.concurrent-users figure
    when one is configured, else this session's; a string says why there is none."""
    path = config.report.previous_run
    if path is not None:
        previous = baseline.load(path)
        if previous is None:
            return f"the baseline run {path} cannot be read"
        value = baseline.figure(baseline.item(previous, ITEM).get("evidence", {}), FIGURE)
        where = str(path)
    else:
        records = request.config.stash[RUN_STATE].records.values()
        found = [r.evidence[FIGURE] for r in records if ITEM in r.ids and FIGURE in r.evidence]
        if not found:
            return (
                f"no capacity to compare with: no previous run (--baseline) and {ITEM} did not "
                "record one earlier in this session"
            )
        value, where = found[0], f"this session's predeploy {ITEM}"
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return f"the baseline ({where}) has no capacity figure ({ITEM}: {FIGURE} = {value!r})"
    return where, float(value)
