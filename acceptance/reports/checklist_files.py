"""checklist.json (for machines) and checklist.md (for the release manager), from the run state.

The JSON follows the report contract of the product design exactly; the Markdown reproduces the
release checklist (same headings, same wording, the Sign-off block) with the boxes ticked.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from acceptance.harness.results import ItemResult, overall_verdict
from acceptance.harness.runstate import RunState
from acceptance.harness.verdicts import Verdict
from acceptance.reports import baseline, summary_html

SCHEMA = 1
TITLE = "# Pre-Flight Checklist for Releases"
INTRO = (
    "Use this checklist before every production release to ensure system stability and compliance."
)
SIGN_OFF = """## Sign-off

**Release Manager:** _________________ **Date:** _________

**Technical Lead:** _________________ **Date:** _________

**Security Officer:** _________________ **Date:** _________

**Operations Lead:** _________________ **Date:** _________"""
_LABELS = {
    Verdict.FAIL: "FAIL",
    Verdict.WAIVED: "WAIVED",
    Verdict.NOT_VERIFIED: "NOT VERIFIED",
    Verdict.NEEDS_CONFIRMATION: "NEEDS CONFIRMATION",
}
# "GET /health returns ..." is written with the route in backticks in the release checklist.
_ROUTE = re.compile(r"^((?:GET|POST|PUT|PATCH|DELETE) \S+)")


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def target_block(state: RunState) -> dict[str, str | None]:
    identity = state.identity or {}
    return {key: identity.get(key) for key in ("url", "version", "commit", "environment")}


def build_json(state: RunState) -> dict[str, Any]:
    """The checklist.json document (schema 1)."""
    items = state.items or []
    compared = baseline.comparison(state.config.report.previous_run, items)
    return {
        "schema": SCHEMA,
        "verdict": overall_verdict(items),
        "target": target_block(state),
        "started": _iso(state.started),
        "finished": _iso(state.finished),
        "phase": state.phase,
        "items": [item.as_json() for item in items],
        # Only with --baseline / [report] previous_run: what changed since that run.
        **({"baseline": compared} if compared is not None else {}),
    }


def counts(items: list[ItemResult]) -> Counter[Verdict]:
    return Counter(item.verdict for item in items)


def summary_line(state: RunState) -> str:
    """One line with the verdict and the count of every verdict, for the top of the reports."""
    items = state.items or []
    tally = counts(items)
    parts = ", ".join(f"{tally[v]} {v.value.replace('_', ' ')}" for v in Verdict)
    verdict = overall_verdict(items).upper().replace("_", " ")
    return f"**Verdict: {verdict}** ({len(items)} items: {parts})"


def _line(item: ItemResult) -> str:
    text = _ROUTE.sub(r"`\1`", item.text)
    if item.verdict is Verdict.PASS:
        return f"- [x] {text}"
    reason = " ".join((item.reason or "").split())
    return f"- [ ] {text} — {_LABELS[item.verdict]} ({item.impact}): {reason}"


def render_markdown(state: RunState) -> str:
    """checklist.md: the release checklist with boxes ticked and every open box annotated."""
    target = target_block(state)
    described = ", ".join(f"{key} {value}" for key, value in target.items() if value) or "unknown"
    lines = [
        TITLE,
        "",
        INTRO,
        "",
        summary_line(state),
        "",
        f"Target: {described}. Phase: {state.phase}. "
        f"Run: {_iso(state.started)} to {_iso(state.finished)}.",
    ]
    by_id = {item.id: item for item in state.items or []}
    part = section = None
    for entry in state.checklist.items:
        if entry.part != part:
            part = entry.part
            lines += ["", f"## {part}"]
        if entry.section != section:
            section = entry.section
            lines += ["", f"### {section}"]
        lines.append(_line(by_id[entry.id]))
    compared = baseline.comparison(state.config.report.previous_run, state.items or [])
    if compared is not None:
        new = ", ".join(compared.get("new_failures") or []) or compared.get("error") or "none"
        lines += ["", f"New failures since the baseline run ({compared['previous_run']}): {new}"]
    lines += ["", SIGN_OFF, ""]
    return "\n".join(lines)


def write_reports(state: RunState) -> list[Path]:
    """Write checklist.json, checklist.md and summary.html into the report directory; returns
    their paths. The summary is drawn from the very document written to checklist.json."""
    state.report_dir.mkdir(parents=True, exist_ok=True)
    json_path = state.report_dir / "checklist.json"
    md_path = state.report_dir / "checklist.md"
    document = build_json(state)
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(state), encoding="utf-8")
    previous = baseline.load(state.config.report.previous_run)
    summary_path = summary_html.write(
        state.report_dir, document, previous, state.config, state.html_path
    )
    return [json_path, md_path, summary_path]
