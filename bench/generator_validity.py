"""Does the open-loop generator send what it was asked to? Rates, distributions, lateness.

Boots the vLLM emulator (TTFT 50 ms, 5 ms per token; 128-token prompts, 16-token answers, so
the client, not the target, is what is measured) and runs the asyncio driver
(``load/openloop.py``) open loop at each rate and arrival process. For each run, from the
actual send times (not the schedule):

- achieved rate: first-turn sends over the last send's time from the schedule's zero (the
  n-th arrival is planned at n / rate), against the asked rate; goal: within 1 %;
- inter-arrival times: Kolmogorov-Smirnov against the asked distribution (exponential for
  poisson, gamma(burstiness) for gamma; goal p > 0.01); for constant, the largest deviation
  of a gap from 1 / rate;
- lateness (actual send - scheduled) p50 / p99 / max and the share later than ``late_ms``;
  goal: the run is valid.

Then two runs made to fall behind must be flagged invalid: a rate beyond what one event loop
can send (``--overload-rate``, 1 s), and one stream at a time (``max_in_flight`` 1) at 20/s.
Client CPU is this process's user+system time over the run's wall time. Run, with nothing else
heavy on the machine:

    flock /work/heavy.lock python -m bench.generator_validity [--rates 5 20 50]
        [--kinds constant poisson gamma] [--duration 30] [--burstiness 2]

Exit 1 when a goal is missed. One event loop needs about half a millisecond to send a request
(building it, httpx, the socket write), so no two sends are closer than that: a distribution
that asks for many shorter gaps (gamma with burstiness 0.5 at 20/s and more: 5-10 % of its
gaps are under 0.8 ms) fails the KS test on the actual gaps although the schedule passes it;
the "asked < 0.5 ms" column shows how much of the schedule lies below that resolution.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scipy import stats

from acceptance.settings import SloSettings
from bench.emulator_timing import boot
from load.openloop import HttpTarget, LoadRun, run_load
from load.runreport import RunReport, build_report
from load.workload import WorkloadSettings

MODEL = "bench"  # emulator_timing.boot serves this name
RATE_GOAL_PCT = 1.0
KS_ALPHA = 0.01
SEND_RESOLUTION_S = 0.0005  # about what one event loop needs to send a request


@dataclass(frozen=True)
class Figures:
    """One run's verdict on the generator."""

    kind: str
    rate: float
    sends: int
    achieved: float
    rate_error_pct: float
    ks_p: float | None  # None for constant
    gap_dev_max_ms: float | None  # constant only
    asked_below_pct: float  # scheduled gaps shorter than SEND_RESOLUTION_S
    report: RunReport
    cpu_pct: float
    errors: int


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def workload(kind: str, rate: float, args: argparse.Namespace, **extra: Any) -> WorkloadSettings:
    spec = {
        "arrival": kind,
        "rate": rate,
        "burstiness": args.burstiness if kind == "gamma" else 1.0,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "input": {"mean": 128},
        "output": {"mean": 16},
        **extra,
    }
    return WorkloadSettings.model_validate(spec)


def measure(url: str, spec: WorkloadSettings) -> tuple[LoadRun, float]:
    before, started = cpu_s(), time.monotonic()
    run = asyncio.run(run_load(HttpTarget(url, MODEL), spec))
    return run, 100 * (cpu_s() - before) / (time.monotonic() - started)


def figures(kind: str, rate: float, run: LoadRun, spec: WorkloadSettings, cpu: float) -> Figures:
    report = build_report(run.records, spec, SloSettings(), rate=rate, cancelled=run.cancelled)
    sent = sorted(float(r["sent_s"]) for r in run.records if r["turn"] == 0)
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    planned = sorted(float(r["scheduled_s"]) for r in run.records if r["turn"] == 0)
    asked = [b - a for a, b in itertools.pairwise(planned)]
    below = 100 * sum(g < SEND_RESOLUTION_S for g in asked) / max(1, len(asked))
    ks_p = dev = None
    if kind == "poisson":
        ks_p = float(stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue)
    elif kind == "gamma":
        shape = spec.burstiness
        ks_p = float(stats.kstest(gaps, "gamma", args=(shape, 0, 1 / (rate * shape))).pvalue)
    else:
        dev = max(abs(g - 1 / rate) for g in gaps) * 1000
    achieved = report.achieved_rate or 0.0
    label = f"gamma({spec.burstiness:g})" if kind == "gamma" else kind
    return Figures(
        label,
        rate,
        len(sent),
        achieved,
        100 * (achieved - rate) / rate,
        ks_p,
        dev,
        below,
        report,
        cpu,
        sum(not r["ok"] for r in run.records),
    )


def row(f: Figures) -> str:
    late = f.report.lateness
    assert late is not None  # open loop
    shape = f"KS p={f.ks_p:.3f}" if f.ks_p is not None else f"max gap dev {f.gap_dev_max_ms:.2f} ms"
    return (
        f"| {f.kind} | {f.rate:g} | {f.sends} | {f.achieved:.3f} | {f.rate_error_pct:+.3f} % | "
        f"{shape} | {f.asked_below_pct:.1f} % | {late.p50_ms:.2f} | {late.p99_ms:.2f} | "
        f"{late.max_ms:.2f} | "
        f"{late.late_share:.2%} | {'valid' if f.report.valid else 'INVALID'} | {f.errors} | "
        f"{f.cpu_pct:.0f} % |"
    )


def goals_met(f: Figures) -> bool:
    shape_ok = f.ks_p is None or f.ks_p > KS_ALPHA
    return abs(f.rate_error_pct) <= RATE_GOAL_PCT and shape_ok and f.report.valid


def fall_behind(url: str, args: argparse.Namespace) -> list[tuple[str, RunReport, float]]:
    """Runs that cannot keep their schedule: each must come out invalid."""
    runs = []
    for name, spec in (
        (
            f"constant {args.overload_rate:g}/s, 1 s (one event loop's limit)",
            workload(
                "constant",
                args.overload_rate,
                args,
                duration_s=1.0,
                warmup_s=0.0,
                output={"mean": 1},
            ),
        ),
        (
            "constant 20/s, max_in_flight 1",
            workload("constant", 20, args, duration_s=3.0, warmup_s=0.0, max_in_flight=1),
        ),
    ):
        started = time.monotonic()
        run = asyncio.run(run_load(HttpTarget(url, MODEL), spec))
        report = build_report(
            run.records, spec, SloSettings(), rate=spec.rate, stopped_early=run.stopped_early
        )
        runs.append((name, report, time.monotonic() - started))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[5.0, 20.0, 50.0])
    parser.add_argument("--kinds", nargs="+", default=["constant", "poisson", "gamma"])
    parser.add_argument("--duration", type=float, default=30.0, help="counted seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--burstiness", type=float, default=2.0, help="gamma shape")
    parser.add_argument("--overload-rate", type=float, default=3000.0)
    args = parser.parse_args()
    ok = True
    out = sys.stdout
    with tempfile.TemporaryDirectory() as tmp:
        emulator = argparse.Namespace(ttft_ms=50.0, itl_ms=5.0, tokens=16)
        proc, url = boot(emulator, Path(tmp))
        try:
            out.write(
                "| arrivals | rate | sends | achieved | error | shape | asked < 0.5 ms | "
                "late p50 ms | late p99 ms | late max ms | late > 10 ms | run | errors | "
                "client CPU |\n" + "|" + " --- |" * 14 + "\n"
            )
            for kind, rate in itertools.product(args.kinds, args.rates):
                spec = workload(kind, rate, args)
                run, cpu = measure(url, spec)
                result = figures(kind, rate, run, spec, cpu)
                ok = ok and goals_met(result)
                out.write(row(result) + "\n")
                out.flush()
            out.write("\nruns made to fall behind:\n")
            for name, report, wall in fall_behind(url, args):
                late = report.lateness
                share = "-" if late is None else f"{late.late_share:.1%}"
                verdict = "INVALID (as it must be)" if not report.valid else "valid: GOAL MISSED"
                ok = ok and not report.valid
                out.write(f"- {name}: {share} of sends late, {verdict}, {wall:.1f} s\n")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    out.write("goals met\n" if ok else "GOAL MISSED\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
