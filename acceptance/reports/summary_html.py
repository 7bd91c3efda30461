"""summary.html: the release summary a person reads, one self-contained page beside report.html.

The first screen answers "can we release, and if not, why": the verdict in words, the boxes that
failed (or were waived or not verified) with their reasons and evidence, the key figures against
their SLOs and the baseline, then the charts, all visible without a click. Every state is said in
words as well as colour. No script, no external resource: the page opens offline and prints.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from html import escape
from pathlib import Path
from typing import Any

from acceptance.reports.key_figures import FigureRow
from acceptance.reports.summary import IMPACTS, Chart, Entry, Summary, build
from acceptance.reports.summary_style import CSS
from acceptance.settings import SuiteConfig

FILENAME = "summary.html"
LABELS = {
    "pass": "PASS",
    "fail": "FAIL",
    "waived": "WAIVED",
    "not_verified": "NOT VERIFIED",
    "needs_confirmation": "NEEDS CONFIRMATION",
}
WORDS = {
    "blocked": "✖ BLOCKED",
    "ready_with_unverified": "⚠ READY WITH UNVERIFIED",
    "ready": "✔ READY",
}
# Ids named in the verdict's sentence; the table below lists them all.
HEADLINE_IDS = 5
# Evidence is listed, not dumped: long values are cut here; checklist.json has them whole.
VALUE_CHARS = 160
EVIDENCE_KEYS = 16
# Longer lists go in two columns, so one box's figures do not push the key figures off screen.
EVIDENCE_ONE_COLUMN = 6


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def _evidence(evidence: dict[str, Any]) -> str:
    if not evidence:
        return '<span class="muted">none recorded</span>'
    shown = list(evidence.items())[:EVIDENCE_KEYS]
    rows = "".join(f"<li><code>{escape(k)}</code> {escape(_value(v))}</li>" for k, v in shown)
    more = len(evidence) - len(shown)
    tail = f'<li class="muted">… {more} more in checklist.json</li>' if more > 0 else ""
    wide = " long" if len(shown) > EVIDENCE_ONE_COLUMN else ""
    return f'<ul class="evidence{wide}">{rows}{tail}</ul>'


def _badge(verdict: str) -> str:
    return f'<span class="badge v-{escape(verdict)}">{escape(LABELS.get(verdict, verdict))}</span>'


def _when(started: str | None, finished: str | None) -> str:
    """``run 2026-12-06 02:47:24 to 02:47:39 UTC (15 s)``; the raw strings if unparsable."""
    try:
        began = dt.datetime.fromisoformat(str(started))
        ended = dt.datetime.fromisoformat(str(finished))
    except ValueError:
        return f"run {escape(str(started))} to {escape(str(finished))}"
    took = round((ended - began).total_seconds())
    return f"run {began:%Y-%m-%d %H:%M:%S} to {ended:%H:%M:%S} UTC ({took} s)"


def _header(summary: Summary, title: str, links: dict[str, str]) -> str:
    target = summary.target
    facts = [
        f"{k} <b>{escape(str(target[k]))}</b>"
        for k in ("url", "version", "commit", "environment")
        if target.get(k)
    ]
    facts += [f"phase <b>{escape(summary.phase or '?')}</b>"]
    facts += [_when(summary.started, summary.finished)]
    nav = " · ".join(f'<a href="{escape(href)}">{escape(name)}</a>' for name, href in links.items())
    return (
        f"<header><h1>Release summary: {escape(title)}</h1>"
        f'<p class="meta">{" · ".join(facts)}</p><p class="meta">Details: {nav}</p></header>'
    )


def _items(count: int) -> str:
    return f"{count} item{'' if count == 1 else 's'}"


def _headline(summary: Summary) -> str:
    """The verdict as a sentence a release manager can act on."""
    if summary.verdict == "blocked":
        failed = [e.id for e in summary.attention if e.verdict == "fail"]
        named = ", ".join(failed[:HEADLINE_IDS]) + (" …" if len(failed) > HEADLINE_IDS else "")
        skipped = (
            f" {_items(len(summary.not_run))} not run in this session." if summary.not_run else ""
        )
        return f"Do not release: {_items(summary.totals['fail'])} failed ({named}).{skipped}"
    if summary.verdict == "ready_with_unverified":
        skipped = f" ({len(summary.not_run)} not run in this session)" if summary.not_run else ""
        return (
            f"Nothing failed, but {_items(summary.totals['not_verified'])} could not be "
            f"verified{skipped}: release only if a person accepts each one."
        )
    if summary.verdict == "ready":
        return "Nothing failed and nothing is unverified."
    return ""


def _confirm(summary: Summary) -> str:
    """Evidence boxes never pass by themselves: say that a person still signs them off."""
    count = summary.totals["needs_confirmation"]
    if not count:
        return ""
    return (
        f" {_items(count)} {'needs' if count == 1 else 'need'} a person's confirmation: "
        "sign them off in "
        '<a href="checklist.md">checklist.md</a>.'
    )


def _verdict(summary: Summary) -> str:
    word = WORDS.get(summary.verdict, summary.verdict.upper())
    chips = "".join(
        f'<li class="v-{v}{"" if n else " zero"}">{n} {LABELS[v].lower()}</li>'
        for v, n in summary.totals.items()
    )
    compared = ""
    if summary.baseline is not None:
        base = summary.baseline
        new = ", ".join(base.get("new_failures") or []) or base.get("error") or "none"
        compared = (
            f'<p class="baseline">Baseline: <code>{escape(str(base.get("previous_run")))}</code>'
            f" (verdict {escape(str(base.get('previous_verdict')).replace('_', ' '))}). "
            f"New failures since then: <b>{escape(new)}</b></p>"
        )
    return (
        f'<section id="verdict" class="verdict verdict-{escape(summary.verdict)}">'
        f'<p class="verdict-word">{escape(word)}</p>'
        f'<p class="verdict-text">{escape(_headline(summary))}{_confirm(summary)}</p>'
        f'<ul class="totals">{chips}</ul>{compared}</section>'
    )


def _entry_row(entry: Entry) -> str:
    new = ' <span class="new">new since baseline</span>' if entry.new_failure else ""
    return (
        f'<tr class="row-{escape(entry.verdict)}"><td><span class="impact i-{entry.impact}">'
        f"{entry.impact}</span></td><td>{_badge(entry.verdict)}{new}</td>"
        f"<td><b>{escape(entry.id)}</b><br>{escape(entry.text)}"
        f'<br><span class="muted">{escape(entry.section)}</span></td>'
        f'<td class="reason">{escape(entry.reason)}</td><td>{_evidence(entry.evidence)}</td></tr>'
    )


def _not_run_note(summary: Summary) -> str:
    if not summary.not_run:
        return ""
    return (
        f"; the {_items(len(summary.not_run))} this run did not select are listed "
        '<a href="#not-run">at the end</a>'
    )


def _attention(summary: Summary) -> str:
    if not summary.attention:
        body = (
            '<p class="ok">Of the boxes this run checked, none failed, was waived or is '
            "unverified.</p>"
        )
    else:
        rows = "".join(_entry_row(e) for e in summary.attention)
        body = (
            '<table><thead><tr><th>impact</th><th>verdict</th><th class="item-col">item</th>'
            '<th>reason</th><th class="evidence-col">evidence that decided it</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
    return (
        f'<section id="attention"><h2>Needs attention ({len(summary.attention)})</h2>'
        '<p class="muted">Failed, waived and not verified boxes, by impact, then section'
        f"{_not_run_note(summary)}.</p>"
        f"{body}</section>"
    )


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return '<span class="muted">not measured</span>'
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f} {escape(unit)}"


def _slo(row: FigureRow) -> str:
    if row.slo is None:
        return '<span class="muted">no SLO</span>'
    sign = "≤" if row.figure.better == "lower" else "≥"
    return f"{sign} {_number(row.slo, row.figure.unit)}"


def _meets(row: FigureRow) -> str:
    if row.meets_slo is None:
        return '<span class="muted">—</span>'
    if row.meets_slo:
        return '<span class="good">✔ meets SLO</span>'
    return '<span class="bad">✖ misses SLO</span>'


def _change(row: FigureRow) -> str:
    """The arrow says which way the number moved; the word says whether that is good."""
    if row.direction is None or row.delta is None:
        return '<span class="muted">no baseline figure</span>'
    if row.delta == 0:
        return '<span class="dir-unchanged">= unchanged</span>'
    arrow = "=" if row.direction == "unchanged" else "▲" if row.delta > 0 else "▼"
    digits = 0 if abs(row.delta) >= 100 else 1 if abs(row.delta) >= 1 else 2
    delta = f"{row.delta:+,.{digits}f} {escape(row.figure.unit)}"
    rel = ""
    if row.change is not None:
        rel = f" ({row.change:+.0%})" if abs(row.change) >= 0.1 else f" ({row.change:+.1%})"
    return f'<span class="dir-{row.direction}">{arrow} {row.direction}: {delta}{rel}</span>'


def _figure_row(row: FigureRow) -> str:
    unit = row.figure.unit
    before = '<span class="muted">—</span>' if row.baseline is None else _number(row.baseline, unit)
    return (
        f"<tr><td>{escape(row.figure.label)}</td>"
        f'<td class="num">{_number(row.value, unit)}</td><td class="num">{_slo(row)}</td>'
        f'<td>{_meets(row)}</td><td class="num">{before}</td><td>{_change(row)}</td></tr>'
    )


def _figures(summary: Summary, config: SuiteConfig) -> str:
    rows = "".join(_figure_row(row) for row in summary.figures)
    same = config.report.same_within
    floor = config.performance.regression_floor_ms
    return (
        '<section id="figures"><h2>Key figures against SLOs and the baseline</h2>'
        "<table><thead><tr><th>figure</th><th>this run</th><th>SLO</th><th>vs SLO</th>"
        f"<th>baseline</th><th>change since baseline</th></tr></thead><tbody>{rows}</tbody></table>"
        f'<p class="muted note">SLOs: <code>[slo]</code> of preflight.toml. Unchanged: within '
        f"{same:.0%} of the baseline (<code>[report] same_within</code>), or for a latency less "
        f"than {floor:g} ms apart (<code>[performance] regression_floor_ms</code>). ▲/▼: the "
        "figure went up/down; better or worse says whether that is good.</p></section>"
    )


def _charts(charts: list[Chart]) -> str:
    body = '<p class="muted">No check of this run recorded a chart.</p>'
    if charts:
        # Imported here: matplotlib takes a second to import, and only runs with charts need it.
        from acceptance.reports.chart_svg import render_svg

        body = "".join(
            f'<figure id="{c.anchor}">{render_svg(c.spec, salt=c.anchor)}'
            f"<figcaption>{escape(c.item)} {_badge(c.verdict)}</figcaption></figure>"
            for c in charts
        )
    return f'<section id="charts"><h2>Charts</h2><div class="charts">{body}</div></section>'


def _sections(summary: Summary) -> str:
    head = "".join(f"<th>{LABELS[v].lower()}</th>" for v in summary.totals)
    rows = "".join(
        f"<tr><td>{escape(name)}</td>"
        + "".join(
            f'<td class="num{" c-" + v if n else " zero"}">{n}</td>' for v, n in counts.items()
        )
        + "</tr>"
        for name, counts in summary.sections
    )
    return (
        '<section id="sections"><h2>Per section</h2>'
        f'<table class="compact"><thead><tr><th>section</th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def _not_run(summary: Summary) -> str:
    if not summary.not_run:
        return ""
    levels = "".join(
        f"<li><b>{level}</b> ({len(ids)}): {escape(', '.join(ids))}</li>"
        for level in IMPACTS
        if (ids := [e.id for e in summary.not_run if e.impact == level])
    )
    return (
        '<section id="not-run"><h2>Not verified: not run in this session '
        f"({len(summary.not_run)})</h2><p>Reason for each: <i>not selected</i> (the run's "
        "<code>-m</code> or <code>--checklist-id</code> left their checks out). By impact, "
        f'then section:</p><ul class="not-run">{levels}</ul></section>'
    )


def render(summary: Summary, config: SuiteConfig, links: dict[str, str]) -> str:
    """The whole page."""
    body = "".join(
        (
            _header(summary, config.report.title, links),
            _verdict(summary),
            _attention(summary),
            _figures(summary, config),
            _charts(summary.charts),
            _sections(summary),
            _not_run(summary),
        )
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(LABELS.get(summary.verdict, summary.verdict.upper()))} · "
        f"{escape(config.report.title)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def write(
    report_dir: Path,
    document: dict[str, Any],
    previous: dict[str, Any] | None,
    config: SuiteConfig,
    html_report: Path | None,
) -> Path:
    """Write summary.html for one checklist.json document; returns its path. ``html_report``
    is pytest-html's page, linked when there is one (``--html`` may put it elsewhere)."""
    links = {"checklist.md (sign-off)": "checklist.md", "checklist.json": "checklist.json"}
    if html_report is not None:
        href = Path(os.path.relpath(html_report, report_dir)).as_posix()
        links = {"report.html (every check)": href, **links}
    page = render(build(document, previous, config), config, links)
    path = report_dir / FILENAME
    path.write_text(page, encoding="utf-8")
    return path
