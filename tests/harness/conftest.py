"""Fixtures of the harness tests: run the plugin on throwaway checks in a pytester directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import acceptance
from tests.support.suite_runs import BASE_ARGS, FAKE_TARGET, RunSuite, SuiteRun

# The checkout whose plugin this test process imported.
CODE_ROOT = str(Path(acceptance.__file__).resolve().parents[1])


@pytest.fixture(autouse=True)
def _no_preflight_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The outer environment's PREFLIGHT_* settings must not leak into inner runs."""
    for name in list(os.environ):
        if name.startswith("PREFLIGHT_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def run_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> RunSuite:
    """``run_suite(*args, target=True, subprocess=False)`` runs the plugin in pytester's dir."""

    def run(*args: str, target: bool = True, subprocess: bool = False) -> SuiteRun:
        argv = [*BASE_ARGS, *(("--target", FAKE_TARGET) if target else ()), *args]
        if subprocess:
            # The child imports the plugin under test, not whatever checkout the environment's
            # editable install points at.
            path = os.environ.get("PYTHONPATH")
            monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [CODE_ROOT, path])))
            result = pytester.runpytest_subprocess(*argv)
        else:
            result = pytester.runpytest_inprocess(*argv)
        return SuiteRun(result=result, report_dir=pytester.path / "preflight-report")

    return run
