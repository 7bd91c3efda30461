"""Chart specs (``acceptance.reports.charts``) drawn by matplotlib as inline SVG.

matplotlib's object API (``Figure``, never pyplot): no global figure state and no GUI backend is
ever chosen or loaded, which is what the Agg backend would give and stricter. Text stays text
(``svg.fonttype = "none"``): the browser draws it with its own sans-serif, nothing is fetched,
and labels remain selectable and searchable. Output is byte-for-byte repeatable: ids inside the
SVG are hashed with a salt per chart (deterministic, and unique on a page holding several
charts) and the metadata carries no date.
"""

from __future__ import annotations

import io
import re
from html import escape
from typing import Any

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Colours distinguishable with the common colour-vision deficiencies; reference lines are red
# and dashed, so they read as limits without colour too.
STYLE = "tableau-colorblind10"
RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
}
SIZE_IN = (6.0, 3.0)
# No date (repeatable output) and no RDF block (the page is the document, not the chart).
NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
LIMIT_STYLES = ("--", ":", "-.")
LIMIT_COLOUR = "#c62828"
# Enough bins to show a tail, few enough that a short run's bars are not all height one.
MAX_BINS = 40


def _limits(ax: Axes, lines: dict[str, float] | None, *, vertical: bool) -> None:
    for n, (name, value) in enumerate((lines or {}).items()):
        draw = ax.axvline if vertical else ax.axhline
        style = LIMIT_STYLES[n % len(LIMIT_STYLES)]
        draw(value, color=LIMIT_COLOUR, linestyle=style, linewidth=1.2, label=f"{name} = {value:g}")


def _line(ax: Axes, spec: dict[str, Any]) -> bool:
    series: dict[str, list[list[float]]] = spec["series"]
    ys = [p[1] for points in series.values() for p in points]
    if not ys:
        return False
    for name, points in sorted(series.items()):
        if points:
            marker = "." if len(points) <= 200 else None
            ax.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=name)
    _limits(ax, spec.get("hlines"), vertical=False)
    if min(ys) >= 0:
        # Latency, memory, depth: from zero, so a flat line at 0 or a small wobble is not
        # drawn as a swing across the whole plot.
        ax.set_ylim(bottom=0, top=None if max(ys) > 0 else 1)
    if all(float(y).is_integer() for y in ys):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return True


def _histogram(ax: Axes, spec: dict[str, Any]) -> bool:
    values: list[float] = spec["values"]
    if not values:
        return False
    lines = list((spec.get("vlines") or {}).values())
    # Bins over the values and the reference lines together: one scale shows both, and bars
    # stay visible when the values sit far under an SLO.
    span = (min(values + lines), max(values + lines))
    bins = MAX_BINS if lines else max(5, min(MAX_BINS, round(len(values) ** 0.5)))
    label = f"{len(values)} samples"
    ax.hist(values, bins=bins, range=span, edgecolor="white", linewidth=0.5, label=label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _limits(ax, spec.get("vlines"), vertical=True)
    return True


def render_svg(spec: dict[str, Any], salt: str) -> str:
    """The chart as an ``<svg>`` element for inlining into HTML (no XML prolog), or a short
    paragraph when the spec holds no data. ``salt`` makes the SVG's internal ids unique."""
    title = str(spec.get("title", ""))
    with matplotlib.style.context([STYLE, {**RC, "svg.hashsalt": salt}]):
        fig = Figure(figsize=SIZE_IN, layout="constrained")
        ax = fig.subplots()
        drawn = _histogram(ax, spec) if spec.get("chart") == "histogram" else _line(ax, spec)
        if not drawn:
            return f'<p class="no-data"><em>{escape(title)}: no data</em></p>'
        ax.set_title(title)
        ax.set_xlabel(str(spec.get("x", "")))
        ax.set_ylabel(str(spec.get("y", "")))
        if len(ax.get_legend_handles_labels()[1]) > 1 or spec.get("chart") == "histogram":
            # Beside the plot, never over the data.
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata=NO_METADATA)
    svg = out.getvalue()
    # Inline in a page of several charts: every id (matplotlib numbers its groups per figure)
    # and every reference to one gets the chart's own prefix, so no two charts share an id.
    svg = re.sub(r'(\bid="|url\(#|href="#)', rf"\g<1>{salt}-", svg[svg.index("<svg") :])
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
