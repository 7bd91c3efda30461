"""report.html through pytest-html: a checklist summary on top, each check's evidence below it.

Unless the user passes ``--html``, the plugin registers a self-contained pytest-html report at
``<report-dir>/report.html`` itself. It is gated: a run without checklist checks (``pytest tests``)
writes no report.html and leaves no empty report directory behind.
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path
from typing import Any

import pytest
from pytest_html import extras
from pytest_html.report_data import ReportData
from pytest_html.selfcontained_report import SelfContainedReport
from pytest_html.util import _process_css, _read_template

from acceptance.harness.runstate import RUN_STATE
from acceptance.harness.verdicts import Verdict
from acceptance.reports.charts import is_chart
from acceptance.reports.checklist_files import counts, summary_line, target_block
from acceptance.reports.summary_html import FILENAME as SUMMARY_FILE

_COLOURS = {
    Verdict.PASS: "#2e7d32",
    Verdict.FAIL: "#c62828",
    Verdict.WAIVED: "#ef6c00",
    Verdict.NOT_VERIFIED: "#616161",
    Verdict.NEEDS_CONFIRMATION: "#1565c0",
}


class GatedHtmlReport(SelfContainedReport):  # type: ignore[misc]  # pytest-html is untyped
    """pytest-html's self-contained report that writes only for runs with checklist checks."""

    def __init__(self, path: Path, config: pytest.Config) -> None:
        resources = Path(extras.__file__).parent / "resources"
        missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
        super().__init__(
            str(path),
            config,
            ReportData(config),
            _read_template([resources]),
            _process_css(resources / "style.css", []),
        )
        # pytest-html creates the directory up front; a run that writes nothing must not keep it.
        for directory in missing:
            if directory.exists() and not any(directory.iterdir()):
                directory.rmdir()
        self._preflight_config = config

    def _wanted(self) -> bool:
        state = self._preflight_config.stash.get(RUN_STATE, None)
        # Items exist once the plugin decided them: only for runs that ran checklist checks.
        return state is not None and state.items is not None

    def _write_report(self, rendered_report: str) -> None:
        if self._wanted():
            self._report_path.parent.mkdir(parents=True, exist_ok=True)
            super()._write_report(rendered_report)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self._wanted():
            super().pytest_terminal_summary(terminalreporter)


def summary_href(config: pytest.Config) -> str:
    """Where summary.html is, relative to report.html (which ``--html`` may put elsewhere)."""
    state = config.stash[RUN_STATE]
    page = state.html_path or state.report_dir / "report.html"
    return Path(os.path.relpath(state.report_dir / SUMMARY_FILE, page.parent)).as_posix()


def summary_table(config: pytest.Config) -> str | None:
    """HTML of the checklist summary: verdict, counts, then every item with its verdict."""
    state = config.stash.get(RUN_STATE, None)
    if state is None or not state.has_checks or state.items is None:
        return None
    tally = counts(state.items)
    target = ", ".join(f"{k}: {escape(v)}" for k, v in target_block(state).items() if v)
    head = "".join(f"<th>{escape(v.value)}</th>" for v in Verdict)
    cells = "".join(f"<td>{tally[v]}</td>" for v in Verdict)
    rows = "".join(
        f"<tr><td>{escape(item.id)}</td><td>{escape(item.section)}</td>"
        f"<td>{escape(item.text)}</td>"
        f'<td style="color:{_COLOURS[item.verdict]};font-weight:bold">{item.verdict.value}</td>'
        f"<td>{escape(item.reason or '')}</td></tr>"
        for item in state.items
    )
    verdict_text = escape(summary_line(state).replace("**", ""))
    return (
        '<div id="preflight-checklist"><h2>Release checklist</h2>'
        f"<p><strong>{verdict_text}</strong></p>"
        f'<p class="preflight-summary-link"><a href="{escape(summary_href(config))}">'
        "Release summary: what failed and why, key figures against SLOs and the baseline, "
        "charts</a></p>"
        f"<p>Target: {target or 'unknown'}; phase: {escape(state.phase)}</p>"
        f'<table class="preflight-counts"><tr>{head}</tr><tr>{cells}</tr></table>'
        '<details open><summary>Items</summary><table class="preflight-items">'
        "<tr><th>id</th><th>section</th><th>item</th><th>verdict</th><th>reason</th></tr>"
        f"{rows}</table></details></div>"
    )


def evidence_extras(
    ids: list[str],
    verdict: str | None,
    reason: str | None,
    evidence: dict[str, Any],
    charts_href: str,
) -> list[dict[str, Any]]:
    """pytest-html extras for one check: its items, its verdict and its evidence as JSON.

    Its charts are drawn once, in summary.html (linked here): drawing them again for every
    check's row would double the cost of the reports for pictures hidden in collapsed rows.
    """
    titles = [str(v.get("title", "")) for v in evidence.values() if is_chart(v)]
    charts = (
        f'<p><strong>Charts:</strong> <a href="{escape(charts_href)}">'
        f"{escape('; '.join(titles))} (in the release summary)</a></p>"
        if titles
        else ""
    )
    body = (
        f"<div><p><strong>Checklist:</strong> {escape(', '.join(ids))}</p>"
        f"<p><strong>Verdict:</strong> {escape(verdict or '')}"
        f"{' — ' + escape(reason) if reason else ''}</p>{charts}"
        f"<pre>{escape(json.dumps(evidence, indent=2, sort_keys=True))}</pre></div>"
    )
    found: list[dict[str, Any]] = [extras.html(body)]
    if evidence:
        found.append(extras.json(evidence, name="evidence"))
    return found


class HtmlHooks:
    """pytest-html hook implementations; registered only when pytest-html is active."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        table = summary_table(self._config)
        if table is not None:
            prefix.insert(0, table)
