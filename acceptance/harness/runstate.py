"""The run state of one pytest session, kept in ``config.stash`` under typed keys.

Everything the hooks learn (collected checks, outcomes, the target's identity) lands here, and the
reports are rendered from it at the end. Under xdist the controller's state is filled from
serialised reports and from the workers' ``workeroutput``; the workers' own states only feed those.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from acceptance.harness.checklist import Checklist
from acceptance.harness.results import ItemResult, TestRecord
from acceptance.harness.target import TargetSpec
from acceptance.harness.verdicts import Verdict
from acceptance.settings import SuiteConfig

# Name of the report.user_properties entry that carries a phase's verdict to the controller.
USER_PROPERTY = "preflight"
# Keys of config.workeroutput (xdist) with what only the workers know.
WORKER_COLLECTED = "preflight_collected"
WORKER_IDENTITY = "preflight_identity"


@dataclass
class RunState:
    """Everything one session needs to render its reports."""

    checklist: Checklist
    config: SuiteConfig
    spec: TargetSpec
    phase: str
    report_dir: Path
    allow_destructive: bool
    fail_on_unverified: bool = False
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished: dt.datetime | None = None
    collected: dict[str, list[str]] = field(default_factory=dict)
    selected: set[str] = field(default_factory=set)
    records: dict[str, TestRecord] = field(default_factory=dict)
    identity: dict[str, str | None] | None = None
    items: list[ItemResult] | None = None
    # Failed tests that are no checks (they decide no item but still fail the run), and the
    # exit code the run ends with (acceptance.harness.exitcodes).
    other_failures: int = 0
    exit_code: int = 0
    html_path: Path | None = None  # report.html, when pytest-html writes one
    report_s: float | None = None  # how long writing checklist.json/.md and summary.html took

    @property
    def destructive_allowed(self) -> bool:
        """Destructive checks run with --allow-destructive or against a stack we boot ourselves."""
        return self.allow_destructive or self.spec.boot

    @property
    def has_checks(self) -> bool:
        """Reports are written only for runs that collected checks (not for `pytest tests`)."""
        return bool(self.collected)

    def record_phase(self, nodeid: str, payload: dict[str, Any]) -> None:
        """Fold one phase's user property (see plugin.pytest_runtest_makereport) into the record."""
        record = self.records.setdefault(nodeid, TestRecord(nodeid=nodeid, ids=payload["ids"]))
        if payload.get("verdict") is not None:
            record.phases.append((Verdict(payload["verdict"]), payload.get("reason")))
        record.evidence.update(payload.get("evidence") or {})

    def merge_worker_output(self, output: dict[str, Any]) -> None:
        """Add what an xdist worker collected; every worker collects the same tests."""
        if WORKER_COLLECTED in output:
            collected = json.loads(output[WORKER_COLLECTED])
            self.collected.update(collected["checks"])
            self.selected.update(collected["selected"])
        if WORKER_IDENTITY in output and self.identity is None:
            self.identity = json.loads(output[WORKER_IDENTITY])

    def worker_collected_json(self) -> str:
        return json.dumps({"checks": self.collected, "selected": sorted(self.selected)})


RUN_STATE = pytest.StashKey[RunState]()
