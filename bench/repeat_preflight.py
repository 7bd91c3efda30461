"""Run the full preflight N times in a row and say what was not the same every time.

    python -m bench.repeat_preflight --runs 10 --out runs/ [-- extra pytest arguments]

Each run is a fresh `pytest -m preflight` (so it boots its own reference stack) with its own
report directory and JUnit file under ``--out``. At the end a table lists each run's verdict,
counts per verdict, wall time and the items that were not `pass`/`needs_confirmation`; then every
item whose verdict differed between runs (a flaky check), and the slowest checks by their median
time across runs. Exit 1 when any run failed or any verdict differed: ten clean runs in a row are
how the suite shows it is not flaky on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

GOOD = {"pass", "needs_confirmation"}


def run_once(index: int, out: Path, extra: list[str], timeout_s: float) -> dict[str, object]:
    """One full preflight run; its verdicts, counts, wall time and per-check durations."""
    report = out / f"run-{index:02d}"
    junit = report / "junit.xml"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "preflight",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--report-dir={report}",
        f"--junitxml={junit}",
        *extra,
    ]
    started = time.monotonic()
    with (out / f"run-{index:02d}.log").open("w") as log:
        try:
            code: int | str = subprocess.run(
                argv, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s
            ).returncode
        except subprocess.TimeoutExpired:
            code = f"timeout after {timeout_s} s"
    wall = time.monotonic() - started
    path = report / "checklist.json"
    checklist: dict[str, Any] = (
        json.loads(path.read_text()) if path.exists() else {"verdict": "none", "items": []}
    )
    verdicts = {item["id"]: item["verdict"] for item in checklist["items"]}
    durations: dict[str, float] = {}
    if junit.exists():
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            durations[f"{case.get('classname')}::{case.get('name')}"] = float(case.get("time", 0))
    return {
        "run": index,
        "exit": code,
        "verdict": checklist["verdict"],
        "wall_s": round(wall, 1),
        "counts": dict(Counter(verdicts.values())),
        "verdicts": verdicts,
        "bad": {i: v for i, v in verdicts.items() if v not in GOOD},
        "durations": durations,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="consecutive runs (default: 10)")
    parser.add_argument("--out", type=Path, default=Path("repeat-runs"), help="reports and logs")
    parser.add_argument("--timeout", type=float, default=600.0, help="bound per run, seconds")
    parser.add_argument("--slowest", type=int, default=10, help="slowest checks to list")
    parser.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for index in range(1, args.runs + 1):
        result = run_once(index, args.out, args.extra, args.timeout)
        runs.append(result)
        print(
            f"run {index:2d}: exit {result['exit']} verdict {result['verdict']} "
            f"{result['wall_s']} s {result['counts']} not good: {result['bad'] or '-'}",
            flush=True,
        )
    seen: dict[str, set[str]] = defaultdict(set)
    times: dict[str, list[float]] = defaultdict(list)
    for result in runs:
        for item, verdict in result["verdicts"].items():  # type: ignore[attr-defined]
            seen[item].add(verdict)
        for check, seconds in result["durations"].items():  # type: ignore[attr-defined]
            times[check].append(seconds)
    flaky = {item: sorted(v) for item, v in seen.items() if len(v) > 1}
    walls = [float(r["wall_s"]) for r in runs]  # type: ignore[arg-type]
    summary = {
        "runs": len(runs),
        "failed_runs": [r["run"] for r in runs if r["exit"] != 0],
        "verdicts": dict(Counter(str(r["verdict"]) for r in runs)),
        "wall_s": {"min": min(walls), "median": statistics.median(walls), "max": max(walls)},
        "flaky_items": flaky,
        "slowest_checks_median_s": dict(
            sorted(
                ((c, round(statistics.median(t), 2)) for c, t in times.items()),
                key=lambda kv: -kv[1],
            )[: args.slowest]
        ),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 1 if summary["failed_runs"] or flaky else 0


if __name__ == "__main__":
    raise SystemExit(main())
