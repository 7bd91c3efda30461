"""The capacity sweep's chart: load against TTFT p50/p95 and ITL p95, and against goodput.

matplotlib (its SVG backend draws text as paths, so the file opens the same offline and without
the fonts); imported here only, so the rest of ``load/`` stays light. A ``Figure`` rendered
directly, not pyplot: no global figure state and no display backend to choose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter


def _series(steps: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    points = sorted((s["load"], s[key]) for s in steps if s.get(key) is not None)
    return [p[0] for p in points], [p[1] for p in points]


def write_chart(
    steps: list[dict[str, Any]],
    path: Path,
    *,
    unit: str,
    goodput_target: float,
    capacity: float | None,
) -> Path:
    """One SVG with two panels sharing the load axis; invalid steps marked apart."""
    fig = Figure(figsize=(7, 7))
    latency, goodput = fig.subplots(2, 1, sharex=True)
    for key, label, style in (
        ("ttft_p50_ms", "TTFT p50", "o-"),
        ("ttft_p95_ms", "TTFT p95", "s-"),
        ("itl_p95_ms", "ITL p95", "^-"),
    ):
        xs, ys = _series(steps, key)
        latency.plot(xs, ys, style, label=label)
    latency.set_ylabel("ms")
    latency.set_yscale("log")
    latency.yaxis.set_major_formatter(ScalarFormatter())
    latency.yaxis.set_minor_formatter(ScalarFormatter())
    latency.legend(loc="center left")  # the lines run along the top and the bottom
    latency.grid(True, which="both", alpha=0.3)
    xs, ys = _series(steps, "goodput")
    goodput.plot(xs, ys, "o-", label="goodput")
    goodput.axhline(goodput_target, color="red", linestyle="--", label="target")
    invalid = [s["load"] for s in steps if not s.get("valid", True)]
    if invalid:
        goodput.plot(invalid, [0.0] * len(invalid), "rx", label="invalid run")
    if capacity is not None:
        for axes in (latency, goodput):
            axes.axvline(capacity, color="green", linestyle=":")
    goodput.set_ylim(-0.05, 1.05)
    goodput.set_ylabel("share of requests meeting the SLOs")
    goodput.set_xlabel(unit)
    goodput.set_xscale("log")
    loads = sorted({s["load"] for s in steps})
    goodput.set_xticks(loads, [f"{x:.3g}" for x in loads], rotation=60)
    goodput.minorticks_off()
    goodput.legend()
    goodput.grid(True, which="both", alpha=0.3)
    fig.suptitle("Capacity under the SLO")
    fig.tight_layout()
    fig.savefig(path, format="svg")
    return path
