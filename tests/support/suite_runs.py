"""Inner runs of the plugin for the harness tests: what one run wrote (`SuiteRun`).

Inner runs point at ``https://127.0.0.1:1`` (nothing listens there) so no stack is ever booted
and the report header's /version probe fails fast. The ``run_suite`` fixture that makes them is
in tests/harness/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# pytester drops the modules an in-process run imported. Two of them must not be imported twice
# in one process, so they are imported here, in the outer process, and never dropped: numpy (the
# summary's charts draw with matplotlib), and httpcore, which httpx imports lazily and whose
# exception classes httpx caches on first use: a second copy's ConnectError would escape
# httpx's mapping in a later test of the same worker (seen: a stack boot's readiness poll).
import httpcore  # noqa: F401
import pytest

import acceptance.reports.chart_svg  # noqa: F401

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
