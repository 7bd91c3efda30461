"""Charts for report.html as inline SVG: no plotting library, no external resource.

A check puts a chart *spec* into its evidence (``evidence.add(latency_chart=line_chart(...))``):
plain JSON, so checklist.json keeps the figures; html_report renders every spec it finds.
"""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 560, 220, 40
COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#616161")


def line_chart(
    title: str, series: dict[str, list[list[float]]], *, x_label: str, y_label: str
) -> dict[str, Any]:
    """A chart spec: named series of [x, y] points."""
    return {"chart": "line", "title": title, "x": x_label, "y": y_label, "series": series}


def is_chart(value: Any) -> bool:
    return isinstance(value, dict) and value.get("chart") == "line" and "series" in value


def render_svg(spec: dict[str, Any]) -> str:
    """The chart as an inline <svg> with axes, extremes and a legend."""
    series: dict[str, list[list[float]]] = spec["series"]
    points = [p for pts in series.values() for p in pts]
    title = escape(str(spec.get("title", "")))
    if not points:
        return f"<p><em>{title}: no data</em></p>"
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y1 = max(max(p[1] for p in points), 1e-9)
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def xy(p: list[float]) -> str:
        x = PAD + (p[0] - x0) / ((x1 - x0) or 1) * plot_w
        y = HEIGHT - PAD - p[1] / y1 * plot_h
        return f"{x:.1f},{y:.1f}"

    lines, legend = [], []
    for n, (name, pts) in enumerate(sorted(series.items())):
        colour = COLOURS[n % len(COLOURS)]
        lines.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
            f'points="{" ".join(xy(p) for p in pts)}"/>'
        )
        legend.append(
            f'<text x="{WIDTH - PAD + 4}" y="{PAD + 12 * n}" font-size="10" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + 80}" height="{HEIGHT}" '
        f'role="img" aria-label="{title}">'
        f'<text x="{PAD}" y="16" font-size="12" font-weight="bold">{title}</text>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#999"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
        f'<text x="2" y="{PAD}" font-size="10">{y1:.4g}</text>'
        f'<text x="2" y="{HEIGHT - PAD}" font-size="10">0</text>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="10">{x0:.4g} … {x1:.4g} '
        f"{escape(str(spec.get('x', '')))}; y: {escape(str(spec.get('y', '')))}</text>"
        f"{''.join(lines)}{''.join(legend)}</svg>"
    )
