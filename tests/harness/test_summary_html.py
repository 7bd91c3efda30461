"""summary.html: the page (acceptance/reports/summary_html.py) and the plugin writing it."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import pytest

from acceptance.reports.summary import build
from acceptance.reports.summary_html import render
from acceptance.settings import SuiteConfig
from tests.support.checklist_docs import document, figures, ttft_evidence
from tests.support.suite_runs import RunSuite

LINKS = {"report.html (every check)": "report.html"}
SLOW_TTFT = "AssertionError: TTFT p95 1620.0 ms > 1000.0 ms"


def _slow_run() -> dict[str, object]:
    evidence = figures()
    evidence["latency.ttft"] = ttft_evidence(1480.0, 1620.0, [1400.0 + n for n in range(30)])
    doc = document({"latency.ttft": {"verdict": "fail", "reason": SLOW_TTFT}}, evidence, "blocked")
    doc["baseline"] = {"previous_run": "prev/checklist.json", "new_failures": ["latency.ttft"]}
    return doc


def _page(doc: dict[str, object], previous: dict[str, object] | None = None) -> str:
    config = SuiteConfig()
    return render(build(doc, previous, config), config, LINKS)


def test_blocked_page_says_what_failed_and_why() -> None:
    page = _page(_slow_run(), document())
    assert "✖ BLOCKED" in page
    assert "Do not release: 1 item failed (latency.ttft)." in page
    assert escape(SLOW_TTFT) in page and "new since baseline" in page
    # TTFT p95 against its SLO and the baseline, in words as well as colour.
    row = re.search(r"<tr><td>TTFT p95</td>.*?</tr>", page)
    assert row is not None
    assert "1,620 ms" in row[0] and "≤ 1,000 ms" in row[0] and "misses SLO" in row[0]
    assert "180 ms" in row[0] and "▲ worse: +1,440 ms (+800%)" in row[0]
    capacity = re.search(r"<tr><td>Capacity .*?</tr>", page)
    assert capacity is not None and "not measured" in capacity[0]
    assert page.count("<svg ") == 2 and 'id="chart-latency-ttft-ttft_histogram"' in page


def test_page_is_self_contained() -> None:
    """No script, no stylesheet or image fetched: the file opens offline."""
    page = _page(_slow_run())
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'\b(src|href)="(https?:)?//', page)


def test_ready_page() -> None:
    confirm = {"readiness.release-notes": {"verdict": "needs_confirmation", "reason": "read"}}
    page = _page(document(confirm))
    assert "1 item needs a person's confirmation" in page
    assert "✔ READY" in page and "none failed, was waived or is unverified." in page
    assert "run 2026-12-06 02:00:00 to 02:01:30 UTC (90 s)" in page
    assert "no baseline figure" in page


def test_unverified_page_and_not_selected_boxes() -> None:
    doc = document(
        {
            "config.tls": {"verdict": "not_verified", "reason": "not selected"},
            "logging.access-detail": {"verdict": "not_verified", "reason": "no log access"},
        },
        verdict="ready_with_unverified",
    )
    page = _page(doc)
    assert "⚠ READY WITH UNVERIFIED" in page
    assert "2 items could not be verified (1 not run in this session)" in page
    assert "no log access" in page
    assert re.search(r'id="not-run".*<li><b>medium</b> \(1\): config\.tls</li>', page)


def test_text_from_checks_is_escaped() -> None:
    doc = document({"config.tls": {"verdict": "fail", "reason": "<script>x</script>"}})
    page = _page(doc)
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


CHECK = """
import pytest
from acceptance.reports.charts import histogram_chart

@pytest.mark.checklist("latency.ttft")
def test_ttft(evidence):
    evidence.add(
        ttft_p95_ms=1620.0,
        ttft_histogram=histogram_chart("TTFT distribution", [1500.0, 1620.0], x_label="TTFT (ms)"),
    )
    assert False, "TTFT p95 1620.0 ms > 1000.0 ms"
"""


def test_plugin_writes_summary_beside_report(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """Every run with checks writes summary.html; report.html links to it (charts too)."""
    pytester.makepyfile(test_checks=CHECK)
    run = run_suite()
    summary = (run.report_dir / "summary.html").read_text()
    assert "TTFT p95 1620.0 ms &gt; 1000.0 ms" in summary
    assert '<a href="report.html">' in summary
    assert "TTFT distribution" in summary and "<svg " in summary
    report = (run.report_dir / "report.html").read_text()
    assert '<a href="summary.html">Release summary' in report
    assert "summary.html#charts" in report
    run.result.stdout.fnmatch_lines(["preflight reports in * (written in *s)"])


def test_links_follow_a_report_html_elsewhere(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """--html puts report.html elsewhere: both pages still link to each other."""
    pytester.makepyfile(test_checks=CHECK)
    run = run_suite("--html", "mine/report.html")
    summary = (run.report_dir / "summary.html").read_text()
    assert '<a href="../mine/report.html">' in summary
    report = (Path(pytester.path) / "mine" / "report.html").read_text()
    assert '<a href="../preflight-report/summary.html">' in report
