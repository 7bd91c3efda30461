"""The mutation bench's command line.

python -m bench.mutants [--sample N] [--modules M ...] [--seed S] [--budget-s S]
                        [--out DIR] [--resume [--rerun STATUS ...]]
                                                    run mutants, append to DIR/results.jsonl
python -m bench.mutants report DIR                  DIR/report.md and DIR/report.json
python -m bench.mutants coverage-map [--out PATH]   measure which boxes execute which lines
python -m bench.mutants list [--modules M ...]      the mutants, one id per line
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.mutants import build_map, generate, report, runner
from bench.mutants.coverage_map import DEFAULT_FALLBACK, DEFAULT_MAP, CoverageMap

PLAN = "plan.json"


def _selected(
    root: Path, modules: list[str] | None, operators: list[str] | None
) -> list[generate.Mutant]:
    chosen = generate.select_modules(generate.platform_modules(root), modules)
    mutants = generate.all_mutants(root, chosen)
    if operators:
        mutants = [m for m in mutants if m.operator in operators]
    return mutants


def _run(args: argparse.Namespace) -> int:
    root, out = Path.cwd(), args.out
    plan = {
        "sample": args.sample,
        "seed": args.seed,
        "modules": args.modules,
        "operators": args.operators,
    }
    if args.resume and (out / PLAN).is_file():
        plan = json.loads((out / PLAN).read_text())
        if args.rerun:  # a new round: the plan keeps it, so later --resume chunks go on with it
            plan.update(round=plan.get("round", 0) + 1, rerun=sorted(args.rerun))
    elif runner.load_results(out):
        print(f"{out} already holds results: --resume, or another --out", file=sys.stderr)
        return 2
    elif args.rerun:
        print("--rerun goes with --resume over a run's --out", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    current = _selected(root, plan["modules"], plan["operators"])
    if "mutants" in plan:  # the sample drawn when the run began, found in today's code
        mutants, gone = runner.resolve(current, plan["mutants"])
        if gone:
            print(f"{len(gone)} mutants of the sample no longer exist: {gone}", flush=True)
    else:
        mutants = runner.sample(current, plan["sample"], plan["seed"])
        plan["mutants"] = [[m.id, m.fingerprint] for m in mutants]
    (out / PLAN).write_text(json.dumps(plan, indent=1) + "\n")
    if args.only:  # e.g. the kills of a check found to fail on a healthy stack, judged again
        unknown = sorted(set(args.only) - {m.id for m in mutants})
        if unknown:
            print(f"--only: not in the run's sample: {unknown}", file=sys.stderr)
            return 2
        mutants = [m for m in mutants if m.id in args.only]
    cmap = CoverageMap.load(args.coverage_map, args.fallback)
    budget = runner.Budget(
        boot_timeout_s=args.boot_timeout_s,
        mutant_s=args.mutant_budget_s,
        total_s=args.budget_s,
        stop_at_first_fail=not args.all_boxes,
    )
    equivalents = report.load_equivalents(report.DEFAULT_EQUIVALENTS)
    again = runner.Round(
        plan.get("round", 0),
        frozenset(plan.get("rerun") or ()),
        frozenset(
            m.id
            for m in mutants
            if m.id in equivalents and equivalents[m.id].fingerprint in (None, m.fingerprint)
        ),
    )
    print(f"{len(mutants)} mutants in the sample; results in {out / runner.RESULTS}", flush=True)
    for record in runner.run(root, mutants, cmap, out, budget, again):
        timing = " ".join(
            f"{k}={record[k]}" for k in ("boot_s", "checks_s", "total_s") if k in record
        )
        extra = record.get("failed") or record.get("unverified") or ""
        print(f"{record['status']:<12} {record['id']}  {timing} {extra}", flush=True)
    left = runner.pending(mutants, runner.load_results(out), again)
    print(f"{len(left)} not decided" + (" (--resume goes on)" if left else ""), flush=True)
    return 0


def _report(args: argparse.Namespace) -> int:
    records = runner.load_results(args.dir).values()
    sections = {}
    if args.coverage_map.is_file():
        sections = CoverageMap.load(args.coverage_map).sections
    summary = report.summarise(
        records,
        report.load_equivalents(args.equivalents),
        sections,
        report.load_equivalents(args.equivalents, "not_checked"),
    )
    report.write(args.dir, summary)
    print(report.markdown(summary))
    return 0


def _coverage_map(args: argparse.Namespace) -> int:
    document = build_map.build(
        Path.cwd(),
        args.out,
        boot_timeout_s=args.boot_timeout_s,
        checks_timeout_s=args.checks_timeout_s,
        pytest_args=args.pytest_args,
    )
    print(
        f"{args.out}: {len(document['files'])} files, verdict {document['verdict']}, "
        f"timing {document['timing_s']}"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    for mutant in _selected(Path.cwd(), args.modules, args.operators):
        print(mutant.id)
    return 0


def _selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--modules",
        nargs="+",
        metavar="M",
        default=None,
        help="modules by dotted name, path or package prefix. Default: all of "
        "service/ except emulators/, stack/, fixtures/",
    )
    parser.add_argument(
        "--operators",
        nargs="+",
        metavar="OP",
        default=None,
        help="only these mutmut operators (e.g. swap_op name number). Default: all",
    )


def build_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m bench.mutants {command}".strip(), description=__doc__.split("\n\n")[0]
    )
    add = parser.add_argument
    if command == "report":
        add("dir", type=Path, help="the --out directory of a run")
        add(
            "--equivalents",
            type=Path,
            default=report.DEFAULT_EQUIVALENTS,
            help="equivalent mutants, not counted. Default: %(default)s",
        )
        add(
            "--coverage-map",
            type=Path,
            default=DEFAULT_MAP,
            help="for section titles. Default: %(default)s",
        )
        return parser
    if command == "list":
        _selection_options(parser)
        return parser
    add(
        "--boot-timeout-s",
        type=float,
        default=120.0,
        help="longest stack boot. Default: %(default)s",
    )
    if command == "coverage-map":
        add("--out", type=Path, default=DEFAULT_MAP, help="Default: %(default)s")
        add(
            "--checks-timeout-s",
            type=float,
            default=1800.0,
            help="longest preflight run. Default: %(default)s",
        )
        add("pytest_args", nargs="*", help="more pytest arguments (after --)")
        return parser
    _selection_options(parser)
    add("--sample", type=int, default=None, metavar="N", help="mutants drawn. Default: all")
    add("--seed", type=int, default=14, help="seed of the draw. Default: %(default)s")
    add(
        "--budget-s",
        type=float,
        default=3600.0,
        help="wall time of the whole run; no mutant starts after it. Default: %(default)s",
    )
    add(
        "--mutant-budget-s",
        type=float,
        default=900.0,
        help="boot + checks of one mutant, else timeout. Default: %(default)s",
    )
    add(
        "--all-boxes",
        action="store_true",
        help="run every selected box even after one failed (per-section kills exact, slower)",
    )
    add("--out", type=Path, default=Path("mutants-run"), help="Default: %(default)s")
    add(
        "--only",
        nargs="+",
        metavar="ID",
        default=None,
        help="with --resume --rerun: only these mutants of the run's sample (their ids now)",
    )
    add("--resume", action="store_true", help="skip mutants already decided in --out")
    add(
        "--rerun",
        nargs="+",
        metavar="STATUS",
        choices=sorted(runner.DECIDED),
        default=None,
        help="with --resume: start a new round that runs again the mutants last decided so "
        "(e.g. survived no_coverage); later --resume runs go on with that round",
    )
    add("--coverage-map", type=Path, default=DEFAULT_MAP, help="Default: %(default)s")
    add(
        "--fallback",
        type=Path,
        default=DEFAULT_FALLBACK,
        help="module -> boxes where coverage cannot reach. Default: %(default)s",
    )
    return parser


COMMANDS = {"report": _report, "coverage-map": _coverage_map, "list": _list}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in COMMANDS else ""
    args = build_parser(command).parse_args(argv[1:] if command else argv)
    return COMMANDS.get(command, _run)(args)


if __name__ == "__main__":
    raise SystemExit(main())
