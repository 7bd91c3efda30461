"""Run the release checks against a deliberately broken reference stack and read the verdicts.

A self-test boots a stack with one fault (a misconfiguration, stopped workers, a short-lived
certificate), runs `pytest -m preflight` on it in a subprocess exactly as a release manager
would, and returns the items of `checklist.json`. The subprocess matters: the checks must fail
through the same plugin, options and reports that production runs use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from acceptance.harness.checklist import load_checklist

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 240


def run_checks(
    stack_json: Path, ids: list[str], workdir: Path, *, config: str = ""
) -> dict[str, dict[str, Any]]:
    """Verdicts of the checks for ``ids`` against the stack, keyed by checklist id."""
    return _run(["--stack", str(stack_json), "--allow-destructive"], ids, workdir, config)


def run_artefact_checks(
    ids: list[str],
    workdir: Path,
    *,
    config: str = "",
    stack_json: Path | None = None,
    paths: tuple[str, ...] | None = None,
) -> dict[str, dict[str, Any]]:
    """Verdicts of checks that judge files (ops/ artefacts, changelog) named in ``config``.

    The broken thing is the artefact, not the target: checks that also read the target
    (/metrics, /version) get ``stack_json`` of a healthy stack. Collection is narrowed to the
    checks' directories (``paths`` overrides): on a busy 2-core machine imports cost seconds.
    """
    checklist = load_checklist()
    dirs = paths or tuple(dict.fromkeys(checklist[i].directory for i in ids))
    extra = ["--stack", str(stack_json)] if stack_json else []
    return _run(extra, ids, workdir, config, dirs)


def run_with(
    extra: list[str], ids: list[str], workdir: Path, *, config: str = ""
) -> dict[str, dict[str, Any]]:
    """Verdicts with the given target options (``--target=URL`` and keys: a stack checked as an
    external target), collection narrowed to the checks' directories."""
    checklist = load_checklist()
    dirs = tuple(dict.fromkeys(checklist[i].directory for i in ids))
    return _run(extra, ids, workdir, config, dirs)


def _run(
    extra: list[str],
    ids: list[str],
    workdir: Path,
    config: str,
    paths: tuple[str, ...] = ("acceptance",),
) -> dict[str, dict[str, Any]]:
    report_dir = workdir / "report"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *paths,
        "-m",
        "preflight",
        "-q",
        "-p",
        "no:cacheprovider",
        *extra,
        f"--report-dir={report_dir}",
    ]
    for checklist_id in ids:
        argv += ["--checklist-id", checklist_id]
    if config:
        toml = workdir / "preflight.toml"
        toml.write_text(config)
        argv += ["--preflight-config", str(toml)]
    done = subprocess.run(
        argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    report = report_dir / "checklist.json"
    assert report.exists(), (
        f"no checklist.json; pytest said:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    )
    items = {item["id"]: item for item in json.loads(report.read_text())["items"]}
    if any(items[i]["verdict"] == "fail" for i in ids):
        assert done.returncode != 0, "a failing item must make the run exit non-zero"
    return items


def failed(items: dict[str, dict[str, Any]], ids: list[str]) -> dict[str, str]:
    """Verdict and reason of each id that did NOT fail (empty when all failed as they should)."""
    return {
        i: f"{items[i]['verdict']}: {items[i].get('reason')}"
        for i in ids
        if items[i]["verdict"] != "fail"
    }
