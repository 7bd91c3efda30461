"""load/lengths.py and load/workload.py: declared lengths and workloads, refused when impossible."""

from __future__ import annotations

import random
import statistics

import pytest
from pydantic import ValidationError

from load.lengths import LengthDistribution
from load.workload import WorkloadSettings


def draws(spec: dict[str, object], n: int = 4000, seed: int = 1) -> list[int]:
    dist = LengthDistribution.model_validate(spec)
    rng = random.Random(seed)  # noqa: S311 - reproducible lengths
    return [dist.draw(rng) for _ in range(n)]


def test_fixed_and_uniform() -> None:
    """Fixed is the mean every time; uniform covers min..max and nothing else."""
    assert set(draws({"mean": 200})) == {200}
    values = draws({"distribution": "uniform", "min": 10, "max": 20})
    assert set(values) == set(range(10, 21))


def test_normal_and_lognormal_have_the_asked_mean_and_spread() -> None:
    """Mean and standard deviation are of the lengths themselves (lognormal too)."""
    for kind in ("normal", "lognormal"):
        values = draws({"distribution": kind, "mean": 500, "std": 100})
        assert statistics.fmean(values) == pytest.approx(500, rel=0.03), kind
        assert statistics.pstdev(values) == pytest.approx(100, rel=0.08), kind


def test_clipped_to_min_and_max() -> None:
    """A wide normal is clipped, so the longest request is known beforehand."""
    dist = LengthDistribution(distribution="normal", mean=100, std=80, min=20, max=150)
    values = draws(dist.model_dump())
    assert min(values) == 20 and max(values) == 150 and dist.upper == 150
    assert LengthDistribution(distribution="normal", mean=100, std=10).upper == 140


def test_same_seed_same_lengths() -> None:
    spec = {"distribution": "lognormal", "mean": 300, "std": 200}
    assert draws(spec, 50, seed=7) == draws(spec, 50, seed=7) != draws(spec, 50, seed=8)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"distribution": "uniform", "min": 5}, "max is required"),
        ({"distribution": "normal", "mean": 10}, "std must be > 0"),
        ({"min": 50, "max": 10}, "below min"),
        ({"mean": -3}, "greater than 0"),
    ],
)
def test_bad_distributions_refused(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        LengthDistribution.model_validate(spec)


def test_lengths_over_the_context_are_refused_naming_the_fields() -> None:
    """input.max + output.max (with the turns' history and the prefix) over max_model_len."""
    with pytest.raises(ValidationError, match=r"input\.max \(8000\) and output\.max \(300\)"):
        WorkloadSettings.model_validate({"input": {"mean": 8000}, "output": {"mean": 300}})
    fits = {"input": {"mean": 1000}, "output": {"mean": 200}, "max_model_len": 3000}
    WorkloadSettings.model_validate(fits)
    with pytest.raises(ValidationError, match="3 turn"):
        WorkloadSettings.model_validate(fits | {"sessions": {"turns": 3}})


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"rate": -1}, "rate"),
        ({"rate": 0}, "rate"),
        ({"burstiness": 0}, "burstiness"),
        ({"arrival": "trace"}, "needs trace"),
        ({"prefix": {"groups": 2, "tokens": 3}}, "tokens must be at least 5"),
        ({"prefix": {"groups": 2, "tokens": 50, "weights": [1]}}, "weights has 1 entries"),
        ({"percentiles": [50, 100]}, "percentiles"),
        ({"lenghts": 3}, "lenghts"),
    ],
)
def test_bad_workloads_refused(patch: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WorkloadSettings.model_validate(patch)
