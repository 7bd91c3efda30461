"""The saturation knee: the closed form agrees with the simulated engine, and the queue grows
above it but not below."""

from __future__ import annotations

from dataclasses import replace

import pytest

from service.emulators.batching.knee import (
    Workload,
    constant_rate_arrivals,
    knee_rate,
    saturation_rate,
)
from service.emulators.batching.params import CostModel, EngineParams, SchedulerLimits
from service.emulators.batching.replay import replay

STACK_LIKE = EngineParams(CostModel(time_scale=3.5), SchedulerLimits(max_num_seqs=32))


@pytest.mark.parametrize(
    ("params", "workload"),
    [
        (STACK_LIKE, Workload(256, 64)),
        (STACK_LIKE, Workload(1024, 128)),
        (STACK_LIKE, Workload(1024, 128, shared_prefix_tokens=768)),
        (replace(STACK_LIKE, limits=SchedulerLimits(256, 512)), Workload(1024, 16)),
    ],
    ids=["short", "long", "shared-prefix", "token-budget"],
)
def test_closed_form_matches_the_simulation(params: EngineParams, workload: Workload) -> None:
    """Within 5 % (the sweep that looks for it is allowed 10 %)."""
    predicted = knee_rate(params, workload)
    simulated = saturation_rate(params, workload, requests=1500)
    assert simulated == pytest.approx(predicted.rate, rel=0.05), predicted


def test_budget_limit_is_named() -> None:
    params = replace(STACK_LIKE, limits=SchedulerLimits(256, 512))
    assert knee_rate(params, Workload(1024, 16)).limit == "max_num_batched_tokens"
    assert knee_rate(STACK_LIKE, Workload(256, 64)).limit == "max_num_seqs"


def test_queue_grows_above_the_knee_only() -> None:
    """At 90 % of the knee every request is scheduled within two steps of its admission; at
    110 % the queue delay of the last requests is many steps and rising."""
    workload = Workload(256, 64)
    knee = knee_rate(STACK_LIKE, workload)

    def queue_delays(factor: float) -> list[float]:
        arrivals = constant_rate_arrivals(workload, knee.rate * factor, 800, 16)
        out = replay(arrivals, STACK_LIKE)
        return [
            p.schedule.scheduled_at - p.schedule.admitted_at
            for p in out.requests.values()
            if p.schedule is not None and p.schedule.scheduled_at is not None
        ]

    below, above = queue_delays(0.9), queue_delays(1.1)
    assert max(below) < 2 * knee.step_s
    assert above[-1] > 10 * knee.step_s and above[-1] > above[len(above) // 2]
