"""Comparison with a previous run's checklist.json (``--baseline`` / ``[report] previous_run``).

Two uses: post1h.performance-stable reads the previous figures (latency p95 per endpoint, TTFT)
to find regressions, and the reports list items that fail now but did not fail then. Without a
previous run, a session that also ran the predeploy latency checks is its own baseline: the
figures they recorded earlier in the run (``session_figures``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from acceptance.harness.results import TestRecord


def load(path: Path | None) -> dict[str, Any] | None:
    """The previous checklist.json, or None when none is configured or it cannot be read."""
    if path is None or not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def item(document: dict[str, Any], item_id: str) -> dict[str, Any]:
    """One item of a checklist.json ({} when absent)."""
    found = [i for i in document.get("items", []) if i.get("id") == item_id]
    return found[0] if found else {}


def figure(evidence: dict[str, Any], suffix: str) -> Any:
    """An evidence value by key, also when the report namespaced it (``test_x.p95_ms``)."""
    for key, value in evidence.items():
        if key == suffix or key.endswith("." + suffix):
            return value
    return None


def session_figures(records: Iterable[TestRecord], item_id: str) -> dict[str, Any] | None:
    """Evidence this session's check of ``item_id`` recorded, or None when none ran (yet) in
    this process (under xdist another worker may have run it)."""
    found = [r.evidence for r in records if item_id in r.ids and r.evidence]
    return found[0] if found else None


def comparison(path: Path | None, items: list[Any]) -> dict[str, Any] | None:
    """What changed since the baseline run: items failing now that did not fail then."""
    if path is None:
        return None
    document = load(path)
    if document is None:
        return {"previous_run": str(path), "error": "missing or unreadable"}
    before = {i.get("id"): i.get("verdict") for i in document.get("items", [])}
    new = [i.id for i in items if i.verdict.value == "fail" and before.get(i.id) != "fail"]
    return {
        "previous_run": str(path),
        "previous_verdict": document.get("verdict"),
        "previous_target": document.get("target"),
        "new_failures": new,
    }
