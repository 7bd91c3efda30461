"""The release summary's data (acceptance/reports/summary.py), read from checklist.json."""

from __future__ import annotations

from acceptance.reports.charts import histogram_chart, line_chart
from acceptance.reports.summary import (
    anchor,
    attention,
    build,
    charts,
    decisive_evidence,
    section_counts,
)
from acceptance.settings import SuiteConfig
from tests.support.checklist_docs import document


def _item(item_id: str, section: str, verdict: str, **extra: object) -> dict[str, object]:
    return {"id": item_id, "section": section, "text": item_id, "verdict": verdict, **extra}


def test_attention_orders_by_impact_then_section_then_verdict() -> None:
    """Impact first (absent = medium), then the section's place in the checklist, then fail
    before waived before not verified; passes and confirmations are left out."""
    items = [
        _item("a.one", "A", "not_verified", reason="no log access"),
        _item("a.two", "A", "fail", reason="x", impact="low"),
        _item("b.one", "B", "fail", reason="slow"),
        _item("b.two", "B", "waived", reason="waived by jane", impact="critical"),
        _item("a.three", "A", "fail", reason="broken"),
        _item("a.four", "A", "pass"),
        _item("b.three", "B", "needs_confirmation", reason="sign"),
    ]
    needs, not_run = attention(items, new_failures=["b.one"])
    assert [(e.id, e.impact) for e in needs] == [
        ("b.two", "critical"),
        ("a.three", "medium"),
        ("a.one", "medium"),
        ("b.one", "medium"),
        ("a.two", "low"),
    ]
    assert [e.new_failure for e in needs] == [False, False, False, True, False]
    assert not_run == []


def test_not_selected_boxes_are_listed_apart() -> None:
    """A box not verified only because the run left its check out does not crowd the table;
    "no check" (a gap in the suite) stays in it."""
    items = [
        _item("a.one", "A", "not_verified", reason="not selected"),
        _item("a.two", "A", "not_verified", reason="no check"),
        _item("a.three", "A", "fail", reason="broken"),
    ]
    needs, not_run = attention(items, new_failures=[])
    assert [e.id for e in needs] == ["a.three", "a.two"]
    assert [e.id for e in not_run] == ["a.one"]


def test_unknown_impact_counts_as_medium() -> None:
    """An impact outside the four levels is read as medium, not dropped or crashed on."""
    needs, _ = attention([_item("a.one", "A", "fail", reason="x", impact="urgent")], [])
    assert needs[0].impact == "medium"


def test_decisive_evidence_leaves_out_charts() -> None:
    """Charts are drawn, not listed among the figures."""
    chart = line_chart("t", {"s": [[0, 1]]}, x_label="x (s)", y_label="y (ms)")
    assert decisive_evidence({"p95_ms": 3.0, "latency_chart": chart}) == {"p95_ms": 3.0}


def test_section_counts_in_checklist_order() -> None:
    items = [
        _item("b.one", "B", "pass"),
        _item("a.one", "A", "fail"),
        _item("b.two", "B", "not_verified"),
    ]
    counts = section_counts(items)
    assert [name for name, _ in counts] == ["B", "A"]
    assert counts[0][1] == {
        "pass": 1,
        "fail": 0,
        "waived": 0,
        "not_verified": 1,
        "needs_confirmation": 0,
    }


def test_charts_once_each_histograms_then_key_figures_first() -> None:
    """A check with two ids gives both the same chart: drawn once, under the first id.
    Histograms lead, then the charts of the key figures' boxes, then the rest."""
    line = line_chart("over time", {"s": [[0, 1]]}, x_label="t (s)", y_label="ms")
    memory = line_chart("memory", {"api": [[0, 50]]}, x_label="t (s)", y_label="MB")
    hist = histogram_chart("distribution", [1.0, 2.0], x_label="ms")
    items = [
        _item("resources.memory", "U", "pass", evidence={"rss_chart": memory}),
        _item("load.recovery", "L", "pass", evidence={"spike_chart": line}),
        _item("latency.ttft", "R", "fail", evidence={"ttft_histogram": hist, "n": 3}),
        _item("latency.api", "R", "pass", evidence={"latency_chart": {**line, "title": "api"}}),
        _item("post1h.new-functionality", "P", "pass", evidence={"spike_chart": line}),
    ]
    found = charts(items)
    assert [(c.item, c.anchor) for c in found] == [
        ("latency.ttft", "chart-latency-ttft-ttft_histogram"),
        ("latency.api", "chart-latency-api-latency_chart"),
        ("resources.memory", "chart-resources-memory-rss_chart"),
        ("load.recovery", "chart-load-recovery-spike_chart"),
    ]
    assert found[0].verdict == "fail"


def test_anchor_is_a_plain_html_id() -> None:
    assert anchor("post1h.performance-stable", "test_x.latency_chart") == (
        "chart-post1h-performance-stable-test_x-latency_chart"
    )


def test_build_reads_a_whole_document() -> None:
    """Totals over all 109 boxes, the verdict, the baseline block and the key figures."""
    doc = document(
        {"latency.ttft": {"verdict": "fail", "reason": "TTFT p95 1620.0 ms > 1000.0 ms"}},
        verdict="blocked",
    )
    doc["baseline"] = {"previous_run": "prev.json", "new_failures": ["latency.ttft"]}
    summary = build(doc, document(), SuiteConfig())
    assert summary.verdict == "blocked"
    assert sum(summary.totals.values()) == 109
    assert summary.totals["fail"] == 1
    assert [e.id for e in summary.attention] == ["latency.ttft"]
    assert summary.attention[0].new_failure
    assert summary.baseline == doc["baseline"]
    assert {r.figure.label for r in summary.figures} >= {"TTFT p50", "TTFT p95", "ITL p95"}
    assert [c.spec["chart"] for c in summary.charts] == ["histogram", "line"]
