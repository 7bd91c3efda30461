"""What the release summary (summary.html) shows, as data: pure functions over checklist.json.

Built from the written checklist.json document (and the baseline run's), not from pytest
objects, so the page says exactly what the machine interface says and can be tested, and drawn
again, from files alone. Rendering is ``acceptance.reports.summary_html``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from acceptance.reports.charts import is_chart
from acceptance.reports.key_figures import FIGURE_ITEMS, FigureRow, key_figures
from acceptance.settings import SuiteConfig

# Severity of a box (acceptance/checklist.yaml `impact`); a checklist without it counts as medium.
IMPACTS = ("critical", "high", "medium", "low")
DEFAULT_IMPACT = "medium"
VERDICTS = ("pass", "fail", "waived", "not_verified", "needs_confirmation")
# The verdicts a release manager must act on, worst first.
ATTENTION = ("fail", "waived", "not_verified")
# Not verified only because this session did not run the box's check: listed apart, compactly,
# so a run of a few boxes does not bury its failures under a hundred of these.
NOT_RUN = ("not selected",)


@dataclass(frozen=True)
class Entry:
    """One box that needs attention, with what decided it."""

    id: str
    section: str
    text: str
    verdict: str
    reason: str
    impact: str
    evidence: dict[str, Any]
    new_failure: bool


@dataclass(frozen=True)
class Chart:
    """A chart spec found in an item's evidence, with the anchor it gets on the page."""

    anchor: str
    item: str
    verdict: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class Summary:
    """Everything summary.html shows, in the order it shows it."""

    verdict: str
    target: dict[str, Any]
    phase: str | None
    started: str | None
    finished: str | None
    totals: dict[str, int]
    attention: list[Entry]
    not_run: list[Entry]
    figures: list[FigureRow]
    charts: list[Chart]
    sections: list[tuple[str, dict[str, int]]]
    baseline: dict[str, Any] | None


def impact_of(item: dict[str, Any]) -> str:
    impact = item.get("impact")
    return impact if impact in IMPACTS else DEFAULT_IMPACT


def decisive_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """The figures of an item without its chart specs (those are drawn, not listed)."""
    return {key: value for key, value in evidence.items() if not is_chart(value)}


def section_counts(items: list[dict[str, Any]]) -> list[tuple[str, dict[str, int]]]:
    """Per section (in checklist order) the count of every verdict."""
    counts: dict[str, Counter[str]] = {}
    for item in items:
        counts.setdefault(item["section"], Counter())[item["verdict"]] += 1
    return [(section, {v: tally[v] for v in VERDICTS}) for section, tally in counts.items()]


def attention(
    items: list[dict[str, Any]], new_failures: list[str]
) -> tuple[list[Entry], list[Entry]]:
    """Fail, waived and not-verified boxes ordered by impact, then section (checklist order),
    then verdict; second, apart, the boxes not verified only because they were not run."""
    sections = list(dict.fromkeys(item["section"] for item in items))
    chosen = [(n, i) for n, i in enumerate(items) if i["verdict"] in ATTENTION]
    chosen.sort(
        key=lambda pair: (
            IMPACTS.index(impact_of(pair[1])),
            sections.index(pair[1]["section"]),
            ATTENTION.index(pair[1]["verdict"]),
            pair[0],
        )
    )
    entries = [
        Entry(
            id=item["id"],
            section=item["section"],
            text=item["text"],
            verdict=item["verdict"],
            reason=item.get("reason") or "",
            impact=impact_of(item),
            evidence=decisive_evidence(item.get("evidence") or {}),
            new_failure=item["id"] in new_failures,
        )
        for _, item in chosen
    ]
    skipped = [e.verdict == "not_verified" and e.reason in NOT_RUN for e in entries]
    return (
        [e for e, out in zip(entries, skipped, strict=True) if not out],
        [e for e, out in zip(entries, skipped, strict=True) if out],
    )


def anchor(item_id: str, key: str) -> str:
    """An HTML id for a chart: ``chart-latency-ttft-ttft_chart``."""
    return "chart-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f"{item_id}-{key}")


def charts(items: list[dict[str, Any]]) -> list[Chart]:
    """Every chart spec in the items' evidence, each once (a check with several ids gives its
    evidence to each): histograms first, then the charts of the key figures' boxes (latency
    over time), then the rest, each group in checklist order."""
    found: list[Chart] = []
    for item in items:
        for key, value in (item.get("evidence") or {}).items():
            if is_chart(value) and all(chart.spec != value for chart in found):
                found.append(Chart(anchor(item["id"], key), item["id"], item["verdict"], value))

    def rank(chart: Chart) -> int:
        if chart.spec["chart"] == "histogram":
            return 0
        return 1 if chart.item in FIGURE_ITEMS else 2

    return sorted(found, key=rank)


def by_id(document: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Evidence per checklist id of a checklist.json document."""
    if document is None:
        return {}
    return {i["id"]: i.get("evidence") or {} for i in document.get("items", []) if "id" in i}


def build(
    document: dict[str, Any], previous: dict[str, Any] | None, config: SuiteConfig
) -> Summary:
    """The summary of one checklist.json; ``previous`` is the baseline run's, if any."""
    items: list[dict[str, Any]] = document.get("items", [])
    compared = document.get("baseline")
    needs, not_run = attention(items, (compared or {}).get("new_failures") or [])
    totals = Counter(item["verdict"] for item in items)
    return Summary(
        verdict=document.get("verdict", "unknown"),
        target=document.get("target") or {},
        phase=document.get("phase"),
        started=document.get("started"),
        finished=document.get("finished"),
        totals={v: totals[v] for v in VERDICTS},
        attention=needs,
        not_run=not_run,
        figures=key_figures(by_id(document), by_id(previous) if previous else None, config),
        charts=charts(items),
        sections=section_counts(items),
        baseline=compared,
    )
