"""Against an external target with no stack file and no admin key the run still completes
honestly: nothing fails for lack of access, nothing destructive runs, and every check that
needed access it lacks says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.stack import StackOptions, start_stack

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_external_target_without_admin_key(tmp_path: Path) -> None:
    """Only ordinary keys and the CA: items are pass, not_verified or needs_confirmation."""
    with start_stack(StackOptions(workers=2, directory=tmp_path / "stack")) as info:
        argv = [
            sys.executable, "-m", "pytest", "acceptance", "-m", "preflight", "-q",
            "-p", "no:cacheprovider", f"--target={info.url}", f"--ca-file={info.ca_file}",
            f"--api-key={info.keys.api}", f"--api-key-2={info.keys.api_2}",
            f"--report-dir={tmp_path / 'report'}",
        ]
        done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=540, check=False)
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
