"""The bounded search for the highest load meeting the SLO: geometric growth, then bisection.

Like GuideLLM's sweep and vLLM's ``serve_sla``, but with a budget known up front: the load grows
by ``growth`` from ``start_rate`` while steps pass, and once one fails the last pass and first
fail are bisected (geometric midpoint, so the tolerance is relative) until they are within
``tolerance`` of each other. A first step that fails shrinks by ``growth`` instead, down to
``start_rate / growth**SHRINK_STEPS``. The search stops at ``max_rate``, after ``max_steps``
steps, or when the next step would not fit in the time left of ``budget_s``, and says which.
Concurrency (a closed loop's users) is searched the same way on whole numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from load.workload import CapacitySettings

# A first step that fails is retried this many times, each `growth` times lower, before the
# search concludes that nothing passes: with the defaults, down to 1/8 of start_rate.
SHRINK_STEPS = 3


@dataclass(frozen=True)
class Outcome:
    """One step's load and whether it passed (valid run, goodput at target)."""

    load: float
    passed: bool


def bounds(history: list[Outcome]) -> tuple[float | None, float | None]:
    """The highest passing load below the lowest failing one, and that failing load."""
    failing = [o.load for o in history if not o.passed]
    high = min(failing) if failing else None
    passing = [o.load for o in history if o.passed and (high is None or o.load < high)]
    return (max(passing) if passing else None), high


def next_load(
    history: list[Outcome], settings: CapacitySettings, *, integer: bool = False
) -> tuple[float | None, str]:
    """The next load to try, or None and why the search ends."""
    if not history:
        return _whole(settings.start_rate, integer), ""
    low, high = bounds(history)
    if high is None:  # everything passed so far: grow
        assert low is not None
        if low >= settings.max_rate:
            return None, "max_rate reached"
        return min(_whole(low * settings.growth, integer), settings.max_rate), ""
    if low is None:  # nothing passed: shrink
        floor = settings.start_rate / settings.growth**SHRINK_STEPS
        candidate = _whole(high / settings.growth, integer)
        if candidate < floor or candidate >= high:
            return None, "no load passed"
        return candidate, ""
    if high - low <= settings.tolerance * low or (integer and high - low <= 1):
        return None, "converged"
    middle = math.sqrt(low * high)
    if integer:
        middle = min(max(round(middle), low + 1), high - 1)
    return middle, ""


def _whole(value: float, integer: bool) -> float:
    return float(max(1, round(value))) if integer else value
