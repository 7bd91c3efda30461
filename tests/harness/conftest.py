"""Fixtures of the harness tests: run the plugin on throwaway checks in a pytester directory."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.suite_runs import BASE_ARGS, FAKE_TARGET, RunSuite, SuiteRun


@pytest.fixture(autouse=True)
def _no_preflight_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The outer environment's PREFLIGHT_* settings must not leak into inner runs."""
    for name in list(os.environ):
        if name.startswith("PREFLIGHT_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def run_suite(pytester: pytest.Pytester) -> RunSuite:
    """``run_suite(*args, target=True, subprocess=False)`` runs the plugin in pytester's dir."""

    def run(*args: str, target: bool = True, subprocess: bool = False) -> SuiteRun:
        argv = [*BASE_ARGS, *(("--target", FAKE_TARGET) if target else ()), *args]
        if subprocess:
            result = pytester.runpytest_subprocess(*argv)
        else:
            result = pytester.runpytest_inprocess(*argv)
        return SuiteRun(result=result, report_dir=pytester.path / "preflight-report")

    return run
