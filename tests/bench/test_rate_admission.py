"""`python -m bench.rate_admission`'s grouping and judgement, on answers made up here.

The bench's stack run is too heavy for the project's tests; what decides its exit code (which
window an answer belongs to, which windows break the bounds) is pure and pinned here, so a
leased window that admits one request too many, or refuses earlier than the bound, fails it.
"""

from __future__ import annotations

from typing import Any

from bench.rate_admission import _judge, _windows

ADMITTED, REFUSED = 404, 429


def _answers(reset: int, admitted: int, refused: int) -> list[tuple[int, int]]:
    return [(ADMITTED, reset)] * admitted + [(REFUSED, reset)] * refused


def _result(windows: list[dict[str, Any]], lease_size: int, limit: int = 10) -> dict[str, Any]:
    """``measure``'s result for ``windows``, every one complete, 2 processes."""
    for window in windows:
        window["complete"] = True
        window["over"] = max(0, window["admitted"] - limit)
        window["unused"] = limit - window["admitted"] if window["refused"] else 0
    bound = lease_size if lease_size > 1 else 0
    return {
        "lease": lease_size,
        "lease_size": lease_size,
        "limit": limit,
        "early_bound": bound,
        "windows": windows,
    }


def test_resets_within_half_a_window_are_one_window() -> None:
    """Processes report one window's end up to 2 s apart; windows of 4 s stay apart."""
    answers = _answers(1000, 3, 1) + _answers(1001, 2, 0) + _answers(1004, 1, 2) + [(500, 1004)]
    windows = _windows(answers, 4)
    assert [(w["admitted"], w["refused"], w["other"]) for w in windows] == [(5, 1, 0), (1, 2, 1)]
    assert [(w["first"], w["reset"]) for w in windows] == [(1000, 1001), (1004, 1004)]


def test_a_leased_window_within_both_bounds_passes() -> None:
    windows = _windows(_answers(1000, 10, 5) + _answers(1004, 2, 0), 4)
    assert _judge(_result(windows, lease_size=4)) == []


def test_a_leased_window_over_its_limit_fails() -> None:
    windows = _windows(_answers(1000, 11, 5), 4)
    assert _judge(_result(windows, lease_size=4)) == ["lease 4: window 1 admitted 11"]


def test_a_leased_window_refusing_before_the_bound_fails() -> None:
    """Two processes, lease 4: a window may refuse with at most 4 hits unused, not 5."""
    within = _windows(_answers(1000, 6, 3), 4)
    assert _judge(_result(within, lease_size=4)) == []
    early = _windows(_answers(1000, 5, 3), 4)
    assert _judge(_result(early, lease_size=4)) == ["lease 4: window 1 refused with 5 left"]


def test_counting_each_hit_is_shown_not_judged() -> None:
    """Lease 1 reports resets from whole-second TTLs: its per-window split is approximate."""
    windows = _windows(_answers(1000, 12, 5), 4)
    assert _judge(_result(windows, lease_size=1)) == []
