"""Chart specs: what a check puts into its evidence for the reports to draw.

A spec is plain JSON (``evidence.add(ttft_chart=line_chart(...))``), so checklist.json keeps the
figures behind every chart and a later run or tool can draw them again. Drawing is
``acceptance.reports.chart_svg`` (matplotlib), imported only by the report writer: the checks and
every xdist worker import this module, and must not pay for matplotlib's import.
"""

from __future__ import annotations

from typing import Any

KINDS = ("line", "histogram")


def line_chart(
    title: str,
    series: dict[str, list[list[float]]],
    *,
    x_label: str,
    y_label: str,
    hlines: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Named series of [x, y] points; ``hlines`` are labelled horizontal lines (an SLO)."""
    spec = {"chart": "line", "title": title, "x": x_label, "y": y_label, "series": series}
    return {**spec, "hlines": hlines} if hlines else spec


def histogram_chart(
    title: str,
    values: list[float],
    *,
    x_label: str,
    y_label: str = "count",
    vlines: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The distribution of ``values``; ``vlines`` are labelled vertical lines (SLO, percentile)."""
    spec = {"chart": "histogram", "title": title, "x": x_label, "y": y_label, "values": values}
    return {**spec, "vlines": vlines} if vlines else spec


def is_chart(value: Any) -> bool:
    """A spec either kind of chart (older reports hold only line specs)."""
    if not isinstance(value, dict) or value.get("chart") not in KINDS:
        return False
    return "series" in value if value["chart"] == "line" else "values" in value
