"""The ``preflight`` console script: ``pytest -m preflight --pyargs acceptance`` plus ARGS."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import acceptance
from acceptance.harness.cli import main
from acceptance.harness.exitcodes import BLOCKED
from tests.support.suite_runs import FAKE_TARGET

CODE_ROOT = str(Path(acceptance.__file__).resolve().parents[1])


def test_help_lists_options_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """--help names what it runs, every option of the checklist, and the exit codes."""
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "-m preflight --pyargs acceptance OPTIONS..." in text
    for flag in ("--target URL", "--stack PATH", "--report-dir DIR", "--fail-on-unverified"):
        assert flag in text
    for code in ("0 ", "100", "101", "2 "):
        assert f"\n  {code}" in text


def test_runs_the_installed_checks_from_any_directory(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a directory without checks or conftest: the package's checks run, options pass on."""
    monkeypatch.setenv("PYTHONPATH", CODE_ROOT)
    for name in [n for n in os.environ if n.startswith("PREFLIGHT_")]:
        monkeypatch.delenv(name)
    result = pytester.run(
        sys.executable,
        *("-m", "acceptance.harness.cli", "-p", "no:cacheprovider", "--target", FAKE_TARGET),
        *("--checklist-id", "health.endpoints-ok", "--report-dir", "gate report"),
        timeout=120,
    )
    assert result.ret == BLOCKED, result.stdout.str() + result.stderr.str()
    data = json.loads((pytester.path / "gate report" / "checklist.json").read_text())
    health = next(item for item in data["items"] if item["id"] == "health.endpoints-ok")
    assert health["verdict"] == "fail"
    # Node ids are relative to the installed package: acceptance/ is not under the run's directory.
    assert health["checks"] and all(c.startswith("health/test_") for c in health["checks"])
    assert "warnings summary" not in result.stdout.str()
