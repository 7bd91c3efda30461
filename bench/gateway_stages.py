"""`bench.gateway overhead --stages FILE`: where the gateway's added time goes, stage by stage.

The gateway runs as `bench.stages` (uvicorn with perf_counter stamps, appended to FILE); each
stream's stamps are joined by request id with the client's send and first content and with the
emulator's receipt and first content write (all wall clock, one machine). Printed: the stages in
the order they happen (median offset), each with the median gap from the stage before it; the
gap into ``emulator.first`` is the provider's own time to first token, not the gateway's.
"""

from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path
from typing import Any

# Stages the report always shows first and last, whatever their medians.
FIRST, LAST = "client.send", "client.first"


def read(path: Path) -> dict[str, dict[str, Any]]:
    """The stamp lines of FILE by request id."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return {row["request_id"]: row for row in map(json.loads, lines) if row.get("request_id")}


def timelines(
    samples: list[dict[str, Any]], stages: dict[str, dict[str, Any]]
) -> list[dict[str, float]]:
    """Per stream: ms of each stage from the gateway's first bytes of the request."""
    out = []
    for s in samples:
        row, record = stages.get(s.get("request_id", "")), s.get("record")
        if row is None or record is None or record.get("ttft_ms") is None or "error" in s:
            continue
        receipt = (record["time"] - row["rx_wall"]) * 1000
        out.append(
            {
                FIRST: (s["sent_wall"] - row["rx_wall"]) * 1000,
                **row["ms"],
                "emulator.receipt": receipt,
                "emulator.first": receipt + record["ttft_ms"],
                LAST: (s["first_wall"] - row["rx_wall"]) * 1000,
            }
        )
    return out


def report(
    samples: list[dict[str, Any]], stages: dict[str, dict[str, Any]], target: str = "gateway"
) -> None:
    """The median gap into each stage (ms) over the streams that have stamps and a record."""
    lines = timelines(samples, stages)
    if not lines:
        print("  stages: no stamped request matched the provider's log")
        return
    names = {name for line in lines for name in line} - {FIRST, LAST}
    offsets = {n: statistics.median(line[n] for line in lines if n in line) for n in names}
    order = [FIRST, *sorted(names, key=offsets.__getitem__), LAST]
    print(
        f"  stages of {target!r} ({len(lines)} streams; ms: median gap from the stage before,"
        " median offset from the client's send)"
    )
    for previous, name in itertools.pairwise(order):
        gaps = [line[name] - line[previous] for line in lines if name in line and previous in line]
        gap = statistics.median(gaps) if gaps else float("nan")
        offset = statistics.median(line[name] - line[FIRST] for line in lines if name in line)
        note = "  (the provider's own TTFT)" if name == "emulator.first" else ""
        print(f"    {name:<24}{gap:>8.3f}{offset:>10.3f}{note}")
