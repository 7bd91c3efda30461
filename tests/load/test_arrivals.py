"""load/arrivals.py and load/plan.py: open-loop schedules at the asked rate and distribution."""

from __future__ import annotations

import itertools
import random

import pytest
from scipy import stats

from load.arrivals import OpenArrival, arrival_offsets
from load.plan import PlanError, plan_run, session
from load.workload import WorkloadSettings


def rng(seed: int = 0) -> random.Random:
    return random.Random(seed)  # noqa: S311 - reproducible schedules


def gaps(offsets: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise([0.0, *offsets])]


@pytest.mark.parametrize("kind", ["constant", "poisson", "gamma"])
def test_count_and_rate_exact(kind: OpenArrival) -> None:
    """round(rate x span) arrivals, the last exactly at n / rate: the asked mean rate."""
    offsets = arrival_offsets(kind, 20.0, 10.0, rng(1), burstiness=0.5)
    assert len(offsets) == 200
    assert offsets[-1] == pytest.approx(10.0)
    assert offsets == sorted(offsets)


def test_constant_gaps_are_equal() -> None:
    assert set(round(g, 9) for g in gaps(arrival_offsets("constant", 4.0, 5.0, rng()))) == {0.25}


@pytest.mark.parametrize(("kind", "burstiness"), [("poisson", 1.0), ("gamma", 0.5), ("gamma", 4.0)])
def test_gaps_follow_the_asked_distribution(kind: OpenArrival, burstiness: float) -> None:
    """Kolmogorov-Smirnov against gamma(shape=burstiness, scale=1/(rate*burstiness)); the
    rescaling to the exact rate does not spoil it."""
    rate = 20.0
    offsets = arrival_offsets(kind, rate, 50.0, rng(3), burstiness)
    result = stats.kstest(gaps(offsets), "gamma", args=(burstiness, 0, 1 / (rate * burstiness)))
    assert result.pvalue > 0.01, result


def test_seeded_plans_repeat() -> None:
    """The same seed plans the same run (arrivals, lengths, prefixes); another seed does not."""
    spec = {
        "input": {"distribution": "uniform", "min": 10, "max": 400},
        "prefix": {"groups": 3, "tokens": 40, "share": 0.5},
        "sessions": {"turns": 2},
    }
    one = plan_run(WorkloadSettings.model_validate(spec), rate=5, duration_s=4)
    again = plan_run(WorkloadSettings.model_validate(spec), rate=5, duration_s=4)
    other = plan_run(WorkloadSettings.model_validate(spec | {"seed": 9}), rate=5, duration_s=4)
    assert one == again != other
    assert len(one.sessions) == 5 * (4 + 2)  # warm-up (2 s) + duration
    groups = {s.prefix_group for s in one.sessions}
    assert None in groups and groups - {None} <= {0, 1, 2}
    assert all(len(s.turns) == 2 for s in one.sessions)


def test_session_is_independent_of_order() -> None:
    workload = WorkloadSettings.model_validate(
        {"input": {"distribution": "normal", "mean": 100, "std": 30}}
    )
    assert session(workload, 17) == session(workload, 17)
    assert session(workload, 17).turns != session(workload, 18).turns


def test_closed_loop_has_no_schedule() -> None:
    with pytest.raises(PlanError, match="closed"):
        plan_run(WorkloadSettings(arrival="closed"))
    with pytest.raises(PlanError, match="rate must be > 0"):
        plan_run(WorkloadSettings(), rate=-2)
