"""From per-test outcomes to per-item verdicts, waivers applied.

Pure functions over plain data so that the same code serves a single process and an xdist
controller (which only ever sees serialised reports), and so it can be tested without pytest runs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from acceptance.harness.checklist import Checklist
from acceptance.harness.verdicts import Verdict, worst
from acceptance.settings import Waiver


@dataclass
class TestRecord:
    """What one check (a pytest test) established for the items of its checklist marker."""

    nodeid: str
    ids: list[str]
    phases: list[tuple[Verdict, str | None]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.nodeid.rsplit("::", 1)[-1]


@dataclass
class ItemResult:
    """One entry of checklist.json's ``items``."""

    id: str
    section: str
    text: str
    impact: str
    verdict: Verdict
    reason: str | None
    evidence: dict[str, Any]
    checks: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section,
            "text": self.text,
            "impact": self.impact,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "evidence": self.evidence,
            "checks": self.checks,
        }


def merge_evidence(records: list[TestRecord]) -> dict[str, Any]:
    """One evidence dict per item; a key two checks both report is namespaced by test name."""
    counts = Counter(key for record in records for key in record.evidence)
    merged: dict[str, Any] = {}
    for record in records:
        for key, value in record.evidence.items():
            merged[f"{record.name}.{key}" if counts[key] > 1 else key] = value
    return merged


def _join(records: list[TestRecord], reasons_by_test: list[tuple[str, list[str]]]) -> str:
    parts = [
        (f"{name}: {reason}" if len(records) > 1 else reason)
        for name, reasons in reasons_by_test
        for reason in reasons
    ]
    return "; ".join(parts)


def aggregate_item(records: list[TestRecord]) -> tuple[Verdict, str | None]:
    """Fail if any check failed; else not verified; else needs confirmation; else pass."""
    verdict, _ = worst([phase for record in records for phase in record.phases])
    reasons = []
    for record in records:
        test_verdict, test_reasons = worst(record.phases)
        if test_verdict is verdict:
            reasons.append((record.name, test_reasons))
    if verdict is Verdict.PASS:
        return verdict, None
    return verdict, _join(records, reasons) or verdict.value.replace("_", " ")


def apply_waiver(
    verdict: Verdict, reason: str | None, waiver: Waiver | None, today: dt.date
) -> tuple[Verdict, str | None]:
    """A valid waiver turns a failing item into "waived"; an expired one keeps it failing."""
    if waiver is None or verdict is not Verdict.FAIL:
        return verdict, reason
    if waiver.expired(today):
        return Verdict.FAIL, (
            f"waiver expired on {waiver.expires.isoformat()} ({waiver.owner}: {waiver.reason}); "
            f"failure: {reason}"
        )
    approved = f" (approved by {waiver.approved_by})" if waiver.approved_by else ""
    return Verdict.WAIVED, (
        f"waived by {waiver.owner}{approved} until {waiver.expires.isoformat()}: "
        f"{waiver.reason}; failure: {reason}"
    )


def aggregate(
    checklist: Checklist,
    collected: dict[str, list[str]],
    records: dict[str, TestRecord],
    selected: set[str],
    waivers: list[Waiver],
    today: dt.date,
) -> list[ItemResult]:
    """All items in checklist order.

    ``collected`` maps every collected check (selected or not) to its ids, ``selected`` holds
    those -m/-k kept and ``records`` those that ran. An item no check ran for is not verified:
    "not selected" when a check exists but was deselected, "no check" when the suite has none.
    """
    by_waiver = {waiver.id: waiver for waiver in waivers}
    results = []
    for item in checklist.items:
        ran = [record for record in records.values() if item.id in record.ids]
        if ran:
            verdict, reason = aggregate_item(ran)
        elif any(item.id in ids for node, ids in collected.items() if node in selected):
            verdict, reason = Verdict.NOT_VERIFIED, "not run (session stopped early)"
        elif any(item.id in ids for ids in collected.values()):
            verdict, reason = Verdict.NOT_VERIFIED, "not selected"
        else:
            verdict, reason = Verdict.NOT_VERIFIED, "no check"
        verdict, reason = apply_waiver(verdict, reason, by_waiver.get(item.id), today)
        results.append(
            ItemResult(
                id=item.id,
                section=item.section,
                text=item.text,
                impact=item.impact,
                verdict=verdict,
                reason=reason,
                evidence=merge_evidence(ran),
                checks=sorted(record.nodeid for record in ran),
            )
        )
    return results


def overall_verdict(items: list[ItemResult]) -> str:
    """blocked if anything fails; ready_with_unverified if anything is unverified; else ready."""
    verdicts = {item.verdict for item in items}
    if Verdict.FAIL in verdicts:
        return "blocked"
    if Verdict.NOT_VERIFIED in verdicts:
        return "ready_with_unverified"
    return "ready"
