"""Refusing bad input before any check runs: the report directory, the baseline, the waivers.

Each refusal is one line that names the file and the fix. The plugin raises it from
``pytest_configure``, so nothing is collected, no stack is booted and no report directory is
created; the run ends with ``exitcodes.BAD_INPUT``. A release manager who mistyped a waiver id
learns it in a second, not after a ten-minute run whose report silently ignored the waiver.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

from acceptance.harness.checklist import Checklist
from acceptance.reports.checklist_files import SCHEMA
from acceptance.settings import Waiver
from load.plan import PlanError, plan_run
from load.workload import WorkloadSettings

CRITICAL = "critical"


class BadInput(Exception):
    """An input of the run is unusable; the message is the whole (one-line) explanation."""


def check_report_dir(path: Path) -> None:
    """The reports can be written there: an existing writable directory, or one that can be
    made in a writable existing parent. Nothing is created here (``pytest tests`` writes no
    reports and must leave no directory behind)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise BadInput(
            f"--report-dir {path}: {existing} is a file, not a directory: "
            "choose another --report-dir"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BadInput(
            f"--report-dir {path}: {existing} is not writable: "
            "choose a writable --report-dir or fix its permissions"
        )


def check_baseline(path: Path, checklist: Checklist, source: str) -> None:
    """A baseline is a checklist.json of this schema and of this checklist.

    "Of this checklist" means every id in it is one of ours: a run of an older checklist
    (fewer boxes) still compares, a report of another checklist (or of a newer one whose ids
    this version cannot judge) is refused instead of silently comparing nothing.
    """
    where = f"{source} {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(
            f"{where}: not a readable checklist.json ({type(exc).__name__}): "
            "pass the checklist.json of an earlier preflight run"
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise BadInput(
            f"{where}: no 'items' list, not a checklist.json: "
            "pass the checklist.json of an earlier preflight run"
        )
    if document.get("schema") != SCHEMA:
        raise BadInput(
            f"{where}: checklist.json schema {document.get('schema')!r}, this preflight reads "
            f"schema {SCHEMA}: pass a baseline written by a preflight of schema {SCHEMA}"
        )
    ids = [str(item.get("id")) for item in document["items"] if isinstance(item, dict)]
    unknown = [item_id for item_id in ids if item_id not in checklist]
    if not ids or unknown:
        example = f", e.g. {unknown[0]!r}" if unknown else ""
        raise BadInput(
            f"{where}: written for another checklist ({len(unknown)} of {len(ids)} ids not in "
            f"acceptance/checklist.yaml{example}): pass a checklist.json of this checklist"
        )


def check_waivers(waivers: list[Waiver], checklist: Checklist, source: Path | None) -> None:
    """Every waiver names a known id; one of a critical item has a second approver."""
    where = str(source) if source is not None else "PREFLIGHT_WAIVERS"
    for waiver in waivers:
        if waiver.id not in checklist:
            close = difflib.get_close_matches(waiver.id, checklist.ids, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "ids: acceptance/checklist.yaml"
            raise BadInput(
                f"{where}: waiver for unknown checklist id {waiver.id!r}: fix the id ({hint}) "
                "or remove the waiver"
            )
        if checklist[waiver.id].impact != CRITICAL:
            continue
        approver = (waiver.approved_by or "").strip()
        if not approver:
            raise BadInput(
                f"{where}: waiver of {waiver.id!r} (impact critical) has no approved_by: add "
                f"approved_by = a second person (not the owner {waiver.owner!r}) or remove it"
            )
        if approver.casefold() == waiver.owner.strip().casefold():
            raise BadInput(
                f"{where}: waiver of {waiver.id!r} (impact critical) is approved by its owner "
                f"{waiver.owner!r}: approved_by must name a second person"
            )


def check_workload(workload: WorkloadSettings, source: Path | None) -> None:
    """``[workload]`` can be planned: its trace is readable line by line and every line names
    only what exists. A trace that cannot be replayed is bad input like a mistyped key, refused
    before the stack boots rather than discovered by the load checks minutes later."""
    if workload.arrival == "closed":
        return
    try:
        plan_run(workload)
    except PlanError as exc:
        where = str(source) if source is not None else "PREFLIGHT_WORKLOAD__*"
        raise BadInput(f"{where}: [workload]: {exc}: fix the workload or its trace") from exc
