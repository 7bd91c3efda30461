"""The table `bench.gateway overhead` prints per concurrency level: each target against direct.

Per target: TTFT p50 and p95 and what each adds over calling the emulator directly in the same
run, the before/after split of the median TTFT at the provider (`before` = client send ->
provider receipt, `after` = provider's first write -> client's first content; from the
emulator's request log, matched by X-Request-ID), decode tokens/s and its ratio to direct, and
CPU per stream: CPU time of the target's own processes (the gateway or proxy, nginx's workers)
over the level, divided by the streams it served. Figures of one target are comparable with
another's only within one run, which is why all targets are interleaved.
"""

from __future__ import annotations

import math
import statistics
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between order statistics; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    at = (len(ordered) - 1) * q / 100
    low, high = math.floor(at), math.ceil(at)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def phases(samples: list[dict[str, Any]]) -> tuple[float, float]:
    """Median ms from client send to the emulator's receipt, and from its first write to the
    client's first content."""
    before, after = [], []
    for s in samples:
        record = s.get("record")
        if record is None or record.get("ttft_ms") is None:
            continue
        before.append((record["time"] - s["sent_wall"]) * 1000)
        after.append((s["first_wall"] - record["time"]) * 1000 - record["ttft_ms"])
    if not before:  # nothing matched the provider's log (a target forwarding no request id)
        return float("nan"), float("nan")
    return statistics.median(before), statistics.median(after)


def rows(
    results: dict[str, list[dict[str, Any]]], cpu_s: dict[str, float]
) -> dict[str, dict[str, float]]:
    """The figures of each target (ms, tokens/s, CPU ms per stream), direct first."""
    out: dict[str, dict[str, float]] = {}
    for name, samples in results.items():
        ok = [s for s in samples if "error" not in s]
        ttfts = [s["ttft"] * 1000 for s in ok]
        before, after = phases(ok)
        out[name] = {
            "p50": percentile(ttfts, 50),
            "p95": percentile(ttfts, 95),
            "before": before,
            "after": after,
            "tps": statistics.median(s["tps"] for s in ok) if ok else float("nan"),
            "cpu_ms": cpu_s.get(name, 0.0) * 1000 / max(1, len(samples)),
            "streams": len(samples),
            "errors": len(samples) - len(ok),
        }
    direct = out["direct"]
    for row in out.values():
        row["p50_added"] = row["p50"] - direct["p50"]
        row["p95_added"] = row["p95"] - direct["p95"]
        row["ratio"] = row["tps"] / direct["tps"]
    return out


def report(
    concurrency: int,
    arrivals: str,
    results: dict[str, list[dict[str, Any]]],
    cpu_s: dict[str, float],
) -> dict[str, dict[str, float]]:
    """Print the level's table; return its rows (for tests and callers that keep figures)."""
    table = rows(results, cpu_s)
    print(
        f"concurrency {concurrency}, {arrivals} arrivals, {len(results['direct'])} streams per"
        " target  (ms; tok/s; CPU ms per stream; before = send -> provider receipt, after ="
        " provider's first write -> client's first content)"
    )
    print(
        f"  {'target':<12}{'p50':>9}{'added':>9}{'p95':>9}{'added':>9}{'before':>9}"
        f"{'after':>8}{'tok/s':>8}{'ratio':>8}{'CPU/str':>9}{'errors':>7}"
    )
    for name, r in table.items():
        print(
            f"  {name:<12}{r['p50']:>9.2f}{r['p50_added']:>+9.2f}{r['p95']:>9.2f}"
            f"{r['p95_added']:>+9.2f}{r['before']:>9.2f}{r['after']:>8.2f}{r['tps']:>8.2f}"
            f"{r['ratio']:>8.4f}{r['cpu_ms']:>9.2f}{r['errors']:>7}"
        )
    return table
