"""The release's key figures: each measured value against its SLO and against the baseline run.

One table maps a figure to where a check records it (checklist id, evidence key, then keys into
nested evidence), to its objective in ``preflight.toml`` (a path into ``SuiteConfig``) and to the
direction that is better. The evidence names are those of the checks' ``evidence.add(...)``:
``acceptance/latency/test_streaming.py`` (TTFT, ITL, tokens/s), ``test_api_latency.py`` (p95
per endpoint), ``acceptance/load/test_users_and_queues.py`` (error share under load) and
``acceptance/load/test_declared_workload.py`` (the capacity, ``capacity_rate``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from acceptance.reports.baseline import figure
from acceptance.settings import SuiteConfig

Better = Literal["lower", "higher"]
Direction = Literal["better", "worse", "unchanged"]


@dataclass(frozen=True)
class KeyFigure:
    """Where a figure is recorded, the objective it is held to, and which way is better."""

    label: str
    unit: str
    item: str
    path: tuple[str, ...]
    slo: tuple[str, ...]
    better: Better
    scale: float = 1.0  # shown value = recorded value x scale (a share shown in %)


FIGURES = (
    KeyFigure("TTFT p50", "ms", "latency.ttft", ("ttft_p50_ms",), ("slo", "ttft_p50_ms"), "lower"),
    KeyFigure("TTFT p95", "ms", "latency.ttft", ("ttft_p95_ms",), ("slo", "ttft_p95_ms"), "lower"),
    KeyFigure(
        "ITL p95",
        "ms",
        "latency.tokens-per-second",
        ("itl_p95_ms",),
        ("slo", "itl_p95_ms"),
        "lower",
    ),
    KeyFigure(
        "Decode tokens/s, median stream",
        "tokens/s",
        "latency.tokens-per-second",
        ("decode_tokens_per_s_p50",),
        ("slo", "tokens_per_s_min"),
        "higher",
    ),
    KeyFigure(
        "Output tokens/s, all streams",
        "tokens/s",
        "latency.tokens-per-second",
        ("aggregate_tokens_per_s",),
        ("slo", "aggregate_tokens_per_s_min"),
        "higher",
    ),
    KeyFigure(
        "Error rate under load",
        "%",
        "load.concurrent-users",
        ("overall", "error_share"),
        ("slo", "error_rate_max"),
        "lower",
        scale=100.0,
    ),
    KeyFigure(
        "Capacity (highest rate meeting the SLO)",
        "requests/s",
        "load.concurrent-users",
        ("capacity_rate",),
        ("workload", "expected_rate"),
        "higher",
    ),
)
# latency.api records {"endpoint": p95}; [slo.endpoint_p95_ms] has the same keys.
API_ITEM = "latency.api"
# The boxes whose evidence holds the key figures (their charts come first on the page).
FIGURE_ITEMS = frozenset({*(fig.item for fig in FIGURES), API_ITEM})


def api_figures(endpoints: Iterable[str]) -> list[KeyFigure]:
    """One figure per API endpoint: its p95 against ``[slo.endpoint_p95_ms]``."""
    return [
        KeyFigure(
            f"API p95 {name}",
            "ms",
            API_ITEM,
            ("p95_ms", name),
            ("slo", "endpoint_p95_ms", name),
            "lower",
        )
        for name in endpoints
    ]


@dataclass(frozen=True)
class FigureRow:
    """One line of the key-figures table; every value already in the shown unit."""

    figure: KeyFigure
    value: float | None
    slo: float | None
    meets_slo: bool | None
    baseline: float | None
    delta: float | None
    change: float | None  # relative to the baseline; None when the baseline is 0 or absent
    direction: Direction | None


def _walk(root: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        root = root.get(key) if isinstance(root, dict) else getattr(root, key, None)
        if root is None:
            return None
    return root


def _number(value: Any, scale: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) * scale


def recorded(evidence: dict[str, Any], fig: KeyFigure) -> float | None:
    """The figure in an item's evidence (also when the report namespaced the key)."""
    head = figure(evidence, fig.path[0])
    return _number(_walk(head, fig.path[1:]), fig.scale)


def objective(config: SuiteConfig, fig: KeyFigure) -> float | None:
    """The figure's objective from the suite configuration; None where it has none (yet)."""
    return _number(_walk(config, fig.slo), fig.scale)


def direction(
    fig: KeyFigure, value: float, before: float, same_within: float, floor_ms: float = 0.0
) -> Direction:
    """better / worse, or unchanged when the change is within ``same_within`` of the baseline
    or, for a latency, under ``floor_ms`` (post1h.performance-stable's ``regression_floor_ms``:
    a few milliseconds more on a 4 ms request is noise there, and so it is here)."""
    change = abs(value - before)
    if change <= same_within * abs(before) or (fig.unit == "ms" and change < floor_ms):
        return "unchanged"
    lower = value < before
    return "better" if lower == (fig.better == "lower") else "worse"


def compare(
    fig: KeyFigure,
    evidence: dict[str, Any],
    baseline_evidence: dict[str, Any] | None,
    config: SuiteConfig,
) -> FigureRow:
    """The figure measured now, its objective, and the change since the baseline run."""
    value = recorded(evidence, fig)
    slo = objective(config, fig)
    before = recorded(baseline_evidence, fig) if baseline_evidence is not None else None
    meets = None
    if value is not None and slo is not None:
        meets = value <= slo if fig.better == "lower" else value >= slo
    delta = change = moved = None
    if value is not None and before is not None:
        delta = value - before
        change = delta / before if before else None
        floor = config.performance.regression_floor_ms
        moved = direction(fig, value, before, config.report.same_within, floor)
    return FigureRow(fig, value, slo, meets, before, delta, change, moved)


def all_figures(
    current: dict[str, dict[str, Any]], previous: dict[str, dict[str, Any]], config: SuiteConfig
) -> list[KeyFigure]:
    """The fixed figures, then one per endpoint the SLO, this run or the baseline names."""
    names = dict.fromkeys(config.slo.endpoint_p95_ms)
    for evidence in (current.get(API_ITEM, {}), previous.get(API_ITEM, {})):
        p95 = figure(evidence, "p95_ms")
        names.update(dict.fromkeys(p95 if isinstance(p95, dict) else ()))
    return [*FIGURES, *api_figures(names)]


def key_figures(
    current: dict[str, dict[str, Any]],
    previous: dict[str, dict[str, Any]] | None,
    config: SuiteConfig,
) -> list[FigureRow]:
    """Every key figure; ``current``/``previous`` map checklist ids to their evidence."""
    before = previous or {}
    return [
        compare(fig, current.get(fig.item, {}), before.get(fig.item) if previous else None, config)
        for fig in all_figures(current, before, config)
    ]
