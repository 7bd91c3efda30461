"""Against an external target with no stack file and no admin key the run still completes
honestly: nothing fails for lack of access, nothing destructive runs, and every check that
needed access it lacks says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from defusedxml import ElementTree

from service.stack import StackInfo, StackOptions, start_stack

REPO_ROOT = Path(__file__).resolve().parents[2]


def _destructive_checks() -> set[str]:
    """Node ids of the checks marked destructive, as pytest collects them."""
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "acceptance",
        "-m",
        "preflight and destructive",
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    out = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    return {line.strip() for line in out.stdout.splitlines() if "::" in line}


def _skip_messages(junit: Path) -> dict[str, str | None]:
    """Node id -> skip message (None when the test ran) from pytest's JUnit file."""
    found: dict[str, str | None] = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        module = str(case.get("classname", "")).replace(".", "/") + ".py"
        skipped = case.find("skipped")
        found[f"{module}::{case.get('name')}"] = None if skipped is None else skipped.get("message")
    return found


@pytest.mark.timeout(600)
def test_external_target_without_admin_key(tmp_path: Path) -> None:
    """Only ordinary keys and the CA: items are pass, not_verified or needs_confirmation; no
    destructive check ran, and the platform's processes are the ones it started with."""
    destructive = _destructive_checks()
    assert len(destructive) >= 10, destructive  # the suite has its fault and load checks
    junit = tmp_path / "junit.xml"
    with start_stack(StackOptions(workers=2, directory=tmp_path / "stack")) as info:
        pids_before = dict(info.pids)
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "acceptance",
            "-m",
            "preflight",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--target={info.url}",
            f"--ca-file={info.ca_file}",
            f"--api-key={info.keys.api}",
            f"--api-key-2={info.keys.api_2}",
            f"--report-dir={tmp_path / 'report'}",
            f"--junitxml={junit}",
        ]
        done = subprocess.run(
            argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=540, check=False
        )
        after = StackInfo.load(info.stack_json)
    report = json.loads((tmp_path / "report" / "checklist.json").read_text())
    items = {item["id"]: item for item in report["items"]}
    failing = {i: it["reason"] for i, it in items.items() if it["verdict"] in ("fail", "waived")}
    assert not failing, f"{failing}\n{done.stdout[-3000:]}"
    assert done.returncode == 0, done.stdout[-3000:]
    unverified = [it for it in items.values() if it["verdict"] == "not_verified"]
    assert unverified, "an external target without admin key cannot verify everything"
    assert all(it["reason"] for it in unverified), "not_verified without a reason"
    assert report["verdict"] == "ready_with_unverified"
    assert "destructive checks not allowed" in done.stdout or any(
        "destructive" in (it["reason"] or "") for it in unverified
    ), "destructive checks were not held back"
    skips = _skip_messages(junit)
    ran = {n: skips.get(n, "not collected") for n in destructive}
    held = "destructive checks not allowed"
    not_held = {n: m for n, m in ran.items() if m is None or held not in m}
    assert not not_held, f"destructive checks not held back: {not_held}"
    assert after.pids == pids_before and not any(after.restarts.values()), (
        f"platform processes changed: {pids_before} -> {after.pids}, restarts {after.restarts}"
    )
