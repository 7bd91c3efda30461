"""``load.capacity.sweep.sweep`` with a step already run: the release gate's run at the declared
rate is its first step, counted in ``max_steps``, and the search goes on from its verdict."""

from __future__ import annotations

import asyncio

import pytest

from acceptance.settings import SloSettings
from load.capacity.sweep import sweep
from load.openloop import HttpTarget
from load.run import measure
from load.workload import WorkloadSettings
from tests.support.emulators import LOAD_MODEL, Emulator

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]

WORKLOAD = WorkloadSettings.model_validate(
    {
        "arrival": "constant",
        "rate": 2.0,
        "warmup_s": 0.3,
        "duration_s": 1.0,
        # A busy machine may delay sends; the generator's precision is the bench's.
        "late_ms": 250.0,
        "late_share_max": 0.2,
        "output": {"mean": 2},
        "capacity": {"start_rate": 2.0, "max_rate": 8.0, "step_duration_s": 1.0, "max_steps": 2},
    }
)


def test_a_prior_step_starts_the_search(vllm_emulator: Emulator) -> None:
    """The run at 2 requests/s is the first step: one more step (4) is sent, not two."""
    target = HttpTarget(vllm_emulator.url, LOAD_MODEL)
    slo = SloSettings(ttft_p95_ms=2000.0)
    _, first = measure(target, WORKLOAD, slo)
    vllm_emulator.reset()
    result = asyncio.run(sweep(target, WORKLOAD, slo, prior=[(2.0, first, 1.5)]))
    assert [s["load"] for s in result.steps] == [2.0, 4.0]
    assert result.steps[0]["wall_s"] == 1.5 and result.steps[0]["passed"]
    assert result.stopped_by == "max_steps reached" and result.capacity_rate == 4.0
    # One step at 4/s for 1.3 s and its warm-up stream (a second step would send 10 more).
    assert len(vllm_emulator.requests("/v1/chat/completions")) <= 8
