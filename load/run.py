"""``python -m load.run``: one bounded run of ``[workload]`` with the asyncio driver.

Prints the arrival shape, the generator's lateness, and (for a valid run) TTFT, TPOT, ITL and
E2EL at the workload's percentiles, throughput, goodput, requested against achieved lengths and
the ``[slo]`` verdicts. Exit 0: valid and every SLO met; 1: an SLO missed; 2: the run is invalid
(the generator fell behind) or the workload was refused before sending.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from acceptance.settings import SloSettings
from load.openloop import HttpTarget, LoadRun, run_load
from load.plan import PlanError
from load.runreport import RunReport, build_report
from load.runtext import render
from load.slo import load_config
from load.target import add_target_arguments, resolve_target
from load.workload import WorkloadSettings

EXIT_SLO_MISSED = 1
EXIT_INVALID = 2


def add_workload_overrides(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workload overrides (default: [workload])")
    group.add_argument(
        "--arrival", choices=["closed", "constant", "poisson", "gamma", "trace"], help="arrivals"
    )
    group.add_argument("--rate", type=float, metavar="R", help="new sessions per second")
    group.add_argument("--burstiness", type=float, metavar="B", help="gamma shape")
    group.add_argument("--users", type=int, metavar="N", help="closed loop: users")
    group.add_argument("--duration", type=float, metavar="S", help="seconds after the warm-up")
    group.add_argument("--warmup", type=float, metavar="S", help="warm-up seconds")
    group.add_argument("--trace", type=Path, metavar="PATH", help="JSONL trace")


def overridden(workload: WorkloadSettings, args: argparse.Namespace) -> WorkloadSettings:
    """``workload`` with the options given, validated again as a whole."""
    names = {
        "arrival": "arrival",
        "rate": "rate",
        "burstiness": "burstiness",
        "users": "users",
        "duration": "duration_s",
        "warmup": "warmup_s",
        "trace": "trace",
    }
    patch = {field: getattr(args, option) for option, field in names.items()}
    given = {k: v for k, v in patch.items() if v is not None}
    return WorkloadSettings.model_validate(workload.model_dump() | given)


def measure(
    target: HttpTarget,
    workload: WorkloadSettings,
    slo: SloSettings,
    *,
    rate: float | None = None,
    duration_s: float | None = None,
) -> tuple[LoadRun, RunReport]:
    """One bounded run of ``workload`` and its verdict: what a check calls (synchronously,
    from pytest). Raises PlanError, before any request, for a workload that cannot run."""
    run = asyncio.run(run_load(target, workload, rate=rate, duration_s=duration_s))
    report = build_report(
        run.records,
        workload,
        slo,
        rate=run.rate,
        cancelled=run.cancelled,
        stopped_early=run.stopped_early,
    )
    return run, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.run", description=__doc__)
    add_target_arguments(parser)
    add_workload_overrides(parser)
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the report as JSON")
    parser.add_argument("--samples", type=Path, metavar="PATH", help="write raw records (JSONL)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.preflight_config)
        workload = overridden(config.workload, args)
        target = resolve_target(args, config)
        run, report = measure(target, workload, config.slo)
    except (ValueError, PlanError) as exc:  # pydantic's ValidationError is a ValueError
        sys.stderr.write(f"refused before sending: {exc}\n")
        return EXIT_INVALID
    sys.stdout.write("\n".join(render(report, workload.percentiles)) + "\n")
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    if args.samples:
        lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in run.records)
        args.samples.write_text(lines, encoding="utf-8")
    if not report.valid:
        return EXIT_INVALID
    return 0 if report.ok else EXIT_SLO_MISSED


if __name__ == "__main__":
    raise SystemExit(main())
