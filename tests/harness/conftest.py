"""Helpers for the harness tests: run the plugin on throwaway checks in a pytester directory.

Inner runs point at ``https://127.0.0.1:1`` (nothing listens there) so no stack is ever booted
and the report header's /version probe fails fast.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FAKE_TARGET = "https://127.0.0.1:1"
BASE_ARGS = ("-p", "acceptance.harness.plugin", "-p", "no:cacheprovider", "-p", "no:randomly")


@dataclass
class SuiteRun:
    """One inner pytest run and the reports it wrote."""

    result: pytest.RunResult
    report_dir: Path

    @property
    def ret(self) -> int:
        return int(self.result.ret)

    @property
    def checklist(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / "checklist.json").read_text())
        return data

    def item(self, item_id: str) -> dict[str, Any]:
        return next(i for i in self.checklist["items"] if i["id"] == item_id)

    @property
    def markdown(self) -> str:
        return (self.report_dir / "checklist.md").read_text()


RunSuite = Callable[..., SuiteRun]


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
