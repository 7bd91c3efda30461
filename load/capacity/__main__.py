"""``python -m load.capacity``: the highest arrival rate (or concurrency) meeting the SLO.

Sweeps ``[workload]`` at growing rates (a closed loop: growing users), then bisects, each step a
bounded run judged on goodput (``[slo] goodput_min`` of requests meeting the per-request TTFT,
TPOT and E2EL bounds); prints a table as it goes, writes ``capacity.json`` and the chart
``capacity.svg`` into ``--out``. Exit 0: capacity at least ``[workload] expected_rate`` (and,
with ``--baseline``, not below the earlier run's by more than ``regression_tolerance``);
1: below either; 2: refused before sending (bad workload, trace, baseline or target).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from load.capacity.charts import write_chart
from load.capacity.sweep import SweepResult, sweep
from load.plan import PlanError, plan_run
from load.run import EXIT_INVALID, add_workload_overrides, overridden
from load.slo import load_config
from load.target import add_target_arguments, resolve_target
from load.workload import WorkloadSettings

SCHEMA = 1
COLUMNS = (
    ("load", "load", 8, 2),
    ("achieved", "achieved_rate", 9, 2),
    ("req/s", "request_throughput", 8, 2),
    ("goodput", "goodput", 8, 3),
    ("TTFT p50", "ttft_p50_ms", 9, 1),
    ("TTFT p95", "ttft_p95_ms", 9, 1),
    ("ITL p95", "itl_p95_ms", 8, 1),
    ("E2EL p95", "e2el_p95_ms", 9, 0),
    ("late p99", "lateness_p99_ms", 9, 2),
    ("wall s", "wall_s", 7, 1),
)


def header() -> str:
    return "".join(f"{title:>{width}}" for title, _, width, _ in COLUMNS) + "  verdict"


def row(step: dict[str, Any]) -> str:
    cells = []
    for _, key, width, digits in COLUMNS:
        value = step.get(key)
        cells.append(f"{'-' if value is None else f'{value:.{digits}f}':>{width}}")
    verdict = "pass" if step["passed"] else ("INVALID" if not step["valid"] else "fail")
    return "".join(cells) + f"  {verdict}"


def _read_baseline(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        float(data["capacity_rate"] or 0.0)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"--baseline {path}: not a capacity.json of this command: {exc}") from exc
    return dict(data)


def _verdicts(
    result: SweepResult, workload: WorkloadSettings, baseline: dict[str, Any] | None
) -> tuple[list[str], bool, dict[str, Any] | None]:
    rate = result.capacity_rate or 0.0
    ok = rate >= workload.expected_rate
    lines = [
        f"capacity: {rate:.3g} requests/s (expected_rate {workload.expected_rate:g}: "
        f"{'ok' if ok else 'BELOW'}); stopped: {result.stopped_by}"
    ]
    if result.generator_limited:
        lines.append("the lowest failing step was INVALID: capacity is bounded by the generator")
    compared = None
    if baseline is not None:
        before = float(baseline["capacity_rate"] or 0.0)
        tolerance = workload.capacity.regression_tolerance
        kept = rate >= before * (1 - tolerance)
        ratio = rate / before if before else None
        compared = {"capacity_rate": before, "ratio": ratio, "ok": kept}
        shown = "-" if ratio is None else f"{ratio:.2f}x"
        lines.append(
            f"baseline: {before:.3g} requests/s, now {shown} "
            f"({'ok' if kept else 'REGRESSED'}, tolerance {tolerance:.0%})"
        )
        ok = ok and kept
    return lines, ok, compared


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m load.capacity", description=__doc__)
    add_target_arguments(parser)
    add_workload_overrides(parser)
    group = parser.add_argument_group("search overrides (default: [workload.capacity])")
    for name, kind in (
        ("start-rate", float),
        ("max-rate", float),
        ("growth", float),
        ("tolerance", float),
        ("step-duration-s", float),
        ("max-steps", int),
        ("budget-s", float),
    ):
        group.add_argument(f"--{name}", type=kind, metavar="N")
    parser.add_argument("--expected-rate", type=float, metavar="R", help="[workload] override")
    parser.add_argument("--baseline", type=Path, metavar="FILE", help="an earlier capacity.json")
    parser.add_argument(
        "--out", type=Path, default=Path("capacity-report"), help="Default: %(default)s"
    )
    return parser.parse_args(argv)


def _workload(args: argparse.Namespace, base: WorkloadSettings) -> WorkloadSettings:
    workload = overridden(base, args)
    search = {
        key: getattr(args, key)
        for key in ("start_rate", "max_rate", "growth", "tolerance", "max_steps", "budget_s")
        if getattr(args, key) is not None
    }
    if args.step_duration_s is not None:
        search["step_duration_s"] = args.step_duration_s
    patch: dict[str, Any] = {"capacity": workload.capacity.model_dump() | search}
    if args.expected_rate is not None:
        patch["expected_rate"] = args.expected_rate
    return WorkloadSettings.model_validate(workload.model_dump() | patch)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        config = load_config(args.preflight_config)
        workload = _workload(args, config.workload)
        if workload.arrival == "trace":
            raise PlanError("a trace has its own timing: sweep a rate (constant, poisson, gamma)")
        if workload.arrival != "closed":
            plan_run(workload)  # refuse a bad trace or prefix before any step
        baseline = _read_baseline(args.baseline)
        target = resolve_target(args, config)
    except (ValueError, PlanError) as exc:
        sys.stderr.write(f"refused before sending: {exc}\n")
        return EXIT_INVALID
    out = sys.stdout
    out.write(header() + "\n")

    def show(step: dict[str, Any]) -> None:
        out.write(row(step) + "\n")
        out.flush()

    started = dt.datetime.now(dt.UTC)
    result = asyncio.run(sweep(target, workload, config.slo, on_step=show))
    args.out.mkdir(parents=True, exist_ok=True)
    chart = write_chart(
        result.steps,
        args.out / "capacity.svg",
        unit=result.unit,
        goodput_target=config.slo.goodput_min,
        capacity=result.capacity_load,
    )
    lines, ok, compared = _verdicts(result, workload, baseline)
    document = {
        "schema": SCHEMA,
        "started": started.isoformat(),
        "target": target.url,
        "model": target.model,
        "unit": result.unit,
        "capacity_load": result.capacity_load,
        "failing_load": result.failing_load,
        "capacity_rate": result.capacity_rate,
        "stopped_by": result.stopped_by,
        "generator_limited": result.generator_limited,
        "expected_rate": workload.expected_rate,
        "ok": ok,
        "baseline": compared,
        "wall_s": result.wall_s,
        "steps": result.steps,
        "chart": str(chart),
        "workload": workload.model_dump(mode="json"),
        "slo": config.slo.model_dump(mode="json"),
    }
    (args.out / "capacity.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    lines.append(f"search wall time {result.wall_s:.1f} s; {args.out / 'capacity.json'}, {chart}")
    out.write("\n".join(lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
