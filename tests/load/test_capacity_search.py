"""load/capacity/search.py: the bounded search for the highest passing load."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from load.capacity.search import Outcome, bounds, next_load
from load.workload import CapacitySettings


def search(
    passes: Callable[[float], bool], settings: CapacitySettings, *, integer: bool = False
) -> tuple[list[float], str]:
    history: list[Outcome] = []
    while True:
        load, why = next_load(history, settings, integer=integer)
        if load is None:
            return [o.load for o in history], why
        assert len(history) < 50, "the search must end"
        history.append(Outcome(load, passes(load)))


@pytest.mark.parametrize("knee", [0.3, 1.0, 7.3, 33.0, 100.0])
def test_finds_the_knee_within_tolerance(knee: float) -> None:
    settings = CapacitySettings(start_rate=1, max_rate=256, tolerance=0.05)
    loads, why = search(lambda load: load <= knee, settings)
    history = [Outcome(x, x <= knee) for x in loads]
    low, high = bounds(history)
    assert why == "converged", loads
    assert low is not None and high is not None and low <= knee < high
    assert high - low <= 0.05 * low
    assert len(loads) <= 12


def test_stops_at_max_rate_and_when_nothing_passes() -> None:
    settings = CapacitySettings(start_rate=2, max_rate=20)
    loads, why = search(lambda _: True, settings)
    assert loads == [2, 4, 8, 16, 20] and why == "max_rate reached"
    loads, why = search(lambda _: False, settings)
    assert loads == [2, 1, 0.5, 0.25] and why == "no load passed"


def test_concurrency_on_whole_numbers() -> None:
    """Users: integers only, done when the pass and the fail are neighbours."""
    settings = CapacitySettings(start_rate=1, max_rate=128, tolerance=0.01)
    loads, why = search(lambda users: users <= 11, settings, integer=True)
    assert all(x == int(x) for x in loads) and why == "converged"
    assert bounds([Outcome(x, x <= 11) for x in loads]) == (11, 12)
