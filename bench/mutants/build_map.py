"""``python -m bench.mutants coverage-map``: measure the coverage map (see ``coverage_map``)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import coverage

from bench.mutants import coverage_map, labels, stack
from bench.mutants.generate import NOT_PLATFORM, PLATFORM_ROOT

COMMAND = "python -m bench.mutants coverage-map"


def _rc_file(tmp: Path, checkout: Path, label_file: Path) -> Path:
    """coverage.py's configuration for every process of the stack."""
    omit = "\n    ".join(f"{checkout / prefix}/*" for prefix in NOT_PLATFORM)
    rc = tmp / "coveragerc"
    rc.write_text(
        f"""[run]
parallel = true
data_file = {tmp / "data" / ".coverage"}
source = {checkout / PLATFORM_ROOT}
omit =
    {omit}
plugins = bench.mutants.covctx
# Workers and the API are stopped with SIGTERM: save the data then too.
sigterm = true
# Emulator processes measure nothing of the platform: not worth a warning in their logs.
disable_warnings = no-data-collected, module-not-measured, module-not-imported

[bench.mutants.covctx]
label_file = {label_file}
"""
    )
    return rc


def _contexts(rc: Path, checkout: Path) -> dict[str, dict[int, list[str]]]:
    """Combine every process's data file; per platform file (relative path), line -> labels."""
    # No config file: its plug-in (the label follower) has no business in this process.
    cov = coverage.Coverage(data_file=str(rc.parent / "data" / ".coverage"), config_file=False)
    cov.combine([str(rc.parent / "data")], keep=False)
    data = cov.get_data()
    out: dict[str, dict[int, list[str]]] = {}
    for measured in data.measured_files():
        path = Path(measured)
        if checkout not in path.parents:
            continue
        by_line = data.contexts_by_lineno(measured)
        out[path.relative_to(checkout).as_posix()] = {n: list(c) for n, c in by_line.items()}
    return out


def build(
    root: Path,
    out: Path,
    *,
    boot_timeout_s: float,
    checks_timeout_s: float,
    pytest_args: Sequence[str],
) -> dict[str, Any]:
    """One full preflight under coverage from a copy of ``root``; the map is written to ``out``."""
    started = time.monotonic()
    commit = subprocess.run(
        [stack.GIT, "rev-parse", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="pf-covmap-") as name:
        tmp = Path(name)
        checkout = tmp / "checkout"
        stack.copy_checkout(root, checkout)
        (tmp / "data").mkdir()
        label_file = tmp / "label"
        label_file.write_text(coverage_map.BOOT)
        rc = _rc_file(tmp, checkout, label_file)
        env = stack.child_env(checkout)
        stack_env = stack.child_env(checkout, {"COVERAGE_PROCESS_START": str(rc)})
        report = tmp / "report"
        with stack.booted_stack(checkout, tmp, timeout_s=boot_timeout_s, env=stack_env) as booted:
            run = stack.run_checks(
                checkout,
                booted.stack_json,
                report,
                ids=(),
                timeout_s=checks_timeout_s,
                env=env,
                extra_args=[
                    "-p",
                    labels.__name__,
                    f"--coverage-label-file={label_file}",
                    *pytest_args,
                ],
            )
        if run.checklist is None:
            log = (tmp / "report.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the preflight wrote no checklist.json (exit {run.exit}): {log}")
        contexts = _contexts(rc, checkout)
        order = coverage_map.read_order(label_file.with_suffix(".order").read_text())
    checks_of = coverage_map.checks_of_items(run.checklist)
    lines = coverage_map.lines_by_check(contexts, checks_of, order)
    timing = {"boot": booted.boot_s, "checks": run.checks_s, "total": time.monotonic() - started}
    document = coverage_map.document(
        lines, run.checklist, command=COMMAND, commit=commit, timing=timing
    )
    out.write_text(json_dumps(document))
    return document


def json_dumps(document: dict[str, Any]) -> str:
    """One file entry per line: a regenerated map diffs by file."""
    head = {k: v for k, v in document.items() if k != "files"}
    body = json.dumps(head, indent=1, sort_keys=True)[:-2]
    files = ",\n".join(
        f"  {json.dumps(path)}: {json.dumps(groups, separators=(',', ':'))}"
        for path, groups in document["files"].items()
    )
    return f'{body},\n "files": {{\n{files}\n }}\n}}\n'
