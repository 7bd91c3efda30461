"""Charts drawn by matplotlib (acceptance/reports/chart_svg.py): inline, labelled, repeatable."""

from __future__ import annotations

import re

from acceptance.reports.chart_svg import render_svg
from acceptance.reports.charts import histogram_chart, is_chart, line_chart

LINE = line_chart(
    "TTFT per request over the run",
    {"ttft": [[0.0, 150.0], [0.5, 170.0], [1.0, 160.0]], "other": [[0.0, 90.0], [1.0, 95.0]]},
    x_label="time since start (s)",
    y_label="time to first token (ms)",
    hlines={"SLO p95": 1000.0},
)
HISTOGRAM = histogram_chart(
    "TTFT distribution",
    [150.0 + n % 13 for n in range(50)],
    x_label="time to first token (ms)",
    y_label="requests",
    vlines={"SLO p95": 1000.0},
)


def _texts(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_line_chart_has_title_axis_labels_ticks_legend_and_slo_line() -> None:
    svg = render_svg(LINE, salt="chart-a")
    assert svg.startswith('<svg role="img" aria-label="TTFT per request over the run"')
    texts = _texts(svg)
    for label in ("TTFT per request over the run", "time since start (s)"):
        assert label in texts
    assert "time to first token (ms)" in texts
    assert {"ttft", "other", "SLO p95 = 1000"} <= set(texts)
    assert 'id="chart-a-xtick_1"' in svg and 'id="chart-a-ytick_1"' in svg
    numbers = [t for t in texts if re.fullmatch(r"\d+(\.\d+)?", t)]
    assert len(numbers) >= 6  # tick labels on both axes
    assert "0" in numbers  # latency drawn from zero


def test_histogram_has_sample_count_and_slo_line() -> None:
    texts = _texts(render_svg(HISTOGRAM, salt="chart-b"))
    assert {"TTFT distribution", "time to first token (ms)", "requests"} <= set(texts)
    assert {"50 samples", "SLO p95 = 1000"} <= set(texts)


def test_output_is_repeatable_and_self_contained() -> None:
    """Same spec and salt, same bytes: no date, no RDF metadata, no external reference."""
    first, second = render_svg(LINE, salt="s"), render_svg(LINE, salt="s")
    assert first == second
    assert "<metadata" not in first and "<?xml" not in first
    assert not re.search(r'(href|src)="(?!#)', first)


def test_ids_are_unique_per_chart() -> None:
    """Two charts on one page share no id, and each reference points into its own chart."""
    a, b = render_svg(LINE, salt="one"), render_svg(LINE, salt="two")
    ids_a = set(re.findall(r'\bid="([^"]+)"', a))
    ids_b = set(re.findall(r'\bid="([^"]+)"', b))
    assert ids_a and not ids_a & ids_b
    refs = re.findall(r'(?:url\(#|href="#)([^")]+)', a)
    assert refs and set(refs) <= ids_a


def test_empty_chart_says_no_data() -> None:
    empty = line_chart("Queue depth", {"hot": []}, x_label="t (s)", y_label="jobs")
    assert render_svg(empty, salt="x") == '<p class="no-data"><em>Queue depth: no data</em></p>'
    assert "no data" in render_svg(histogram_chart("ITL", [], x_label="ms"), salt="y")


def test_is_chart_knows_both_kinds_and_old_specs() -> None:
    """Line specs of older reports (no hlines) are still charts; other dicts are not."""
    assert is_chart(LINE) and is_chart(HISTOGRAM)
    assert is_chart({"chart": "line", "title": "t", "x": "s", "y": "ms", "series": {}})
    assert not is_chart({"chart": "pie", "values": [1]})
    assert not is_chart({"chart": "histogram"})
    assert not is_chart([1, 2])
