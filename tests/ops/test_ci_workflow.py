"""The CI example workflow is a workflow GitHub accepts, and it runs what the docs promise.

Validated with check-jsonschema's bundled GitHub workflow schema (dev extra); actionlint is used
too when it is installed (its PyPI wheel downloads the binary from GitHub at build time, which
not every machine can reach).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "preflight.yml"


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def test_workflow_matches_github_schema() -> None:
    """check-jsonschema --builtin-schema vendor.github-workflows accepts the workflow."""
    tool = shutil.which("check-jsonschema")
    if tool is None:
        pytest.skip("check-jsonschema not installed (pip install -e '.[dev]')")
    done = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_passes_actionlint() -> None:
    """actionlint finds nothing (expressions, job references, shell snippets)."""
    tool = shutil.which("actionlint")
    if tool is None:
        pytest.skip("actionlint not installed")
    done = subprocess.run(
        [tool, str(WORKFLOW)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_matrix_by_marker_uploads_reports_and_runs_nightly() -> None:
    """A matrix over the four category markers with xdist, report uploads, a nightly 24 h run."""
    workflow = _workflow()
    jobs = workflow["jobs"]
    matrix = jobs["checklist"]["strategy"]["matrix"]["marker"]
    assert set(matrix) == {"functional", "security", "performance", "compliance"}
    for name in ("checklist", "postdeploy-nightly"):
        steps = jobs[name]["steps"]
        runs = " ".join(str(s.get("run", "")) for s in steps)
        assert "-n 2" in runs and "--report-dir" in runs
        assert any(str(s.get("uses", "")).startswith("actions/upload-artifact") for s in steps)
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["schedule"], "no nightly schedule"
    assert "postdeploy_24h" in " ".join(
        str(s.get("run", "")) for s in jobs["postdeploy-nightly"]["steps"]
    )
