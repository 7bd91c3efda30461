"""Key figures (acceptance/reports/key_figures.py): evidence -> value, SLO, change, direction."""

from __future__ import annotations

import pytest

from acceptance.reports.key_figures import (
    FIGURES,
    KeyFigure,
    compare,
    direction,
    key_figures,
    objective,
    recorded,
)
from acceptance.settings import SuiteConfig
from tests.support.checklist_docs import figures

BY_LABEL = {fig.label: fig for fig in FIGURES}
TTFT_P95 = BY_LABEL["TTFT p95"]
TOKENS = BY_LABEL["Decode tokens/s, median stream"]
ERRORS = BY_LABEL["Error rate under load"]
CAPACITY = BY_LABEL["Capacity (highest rate meeting the SLO)"]


def test_every_figure_names_an_slo_key_of_the_config() -> None:
    """Each objective path resolves in SuiteConfig (capacity's: [workload] expected_rate)."""
    config = SuiteConfig()
    missing = [fig.label for fig in FIGURES if objective(config, fig) is None]
    assert missing == []


def test_recorded_reads_nested_and_namespaced_evidence() -> None:
    """A key two checks of one box both record is namespaced ``test_x.key`` in the report."""
    assert recorded({"test_a.ttft_p95_ms": 412.5}, TTFT_P95) == 412.5
    assert recorded({"overall": {"error_share": 0.02}}, ERRORS) == pytest.approx(2.0)
    assert recorded({"overall": {}}, ERRORS) is None
    assert recorded({"ttft_p95_ms": "n/a"}, TTFT_P95) is None
    assert recorded({"ttft_p95_ms": True}, TTFT_P95) is None


def test_objective_in_shown_units() -> None:
    config = SuiteConfig()
    assert objective(config, TTFT_P95) == config.slo.ttft_p95_ms
    assert objective(config, ERRORS) == pytest.approx(100 * config.slo.error_rate_max)


@pytest.mark.parametrize(
    ("fig", "value", "before", "expected"),
    [
        (TTFT_P95, 200.0, 100.0, "worse"),
        (TTFT_P95, 80.0, 100.0, "better"),
        (TTFT_P95, 104.0, 100.0, "unchanged"),
        (TOKENS, 60.0, 50.0, "better"),
        (TOKENS, 40.0, 50.0, "worse"),
        (ERRORS, 1.0, 0.0, "worse"),
        (ERRORS, 0.0, 0.0, "unchanged"),
    ],
)
def test_direction_knows_which_way_is_better(
    fig: KeyFigure, value: float, before: float, expected: str
) -> None:
    """Lower is better for latency and errors, higher for throughput; small moves (within
    ``[report] same_within`` of the baseline) are unchanged."""
    assert direction(fig, value, before, same_within=0.05) == expected


def test_small_latency_moves_are_unchanged() -> None:
    """Under the regression floor (ms) a latency has not moved, however large the ratio."""
    assert direction(TTFT_P95, 6.5, 4.2, same_within=0.05, floor_ms=25.0) == "unchanged"
    assert direction(TTFT_P95, 60.0, 4.2, same_within=0.05, floor_ms=25.0) == "worse"
    assert direction(TOKENS, 30.0, 50.0, same_within=0.05, floor_ms=25.0) == "worse"


def test_compare_against_slo_and_baseline() -> None:
    row = compare(TTFT_P95, {"ttft_p95_ms": 1620.0}, {"ttft_p95_ms": 180.0}, SuiteConfig())
    assert (row.value, row.slo, row.meets_slo, row.baseline) == (1620.0, 1000.0, False, 180.0)
    assert row.delta == pytest.approx(1440.0)
    assert row.change == pytest.approx(8.0)
    assert row.direction == "worse"


def test_compare_without_baseline_or_measurement() -> None:
    """Nothing recorded: not measured (no SLO verdict, no change); no baseline: no change."""
    config = SuiteConfig()
    absent = compare(CAPACITY, {}, {}, config)
    assert (absent.value, absent.meets_slo, absent.direction) == (None, None, None)
    alone = compare(TOKENS, {"decode_tokens_per_s_p50": 48.0}, None, config)
    assert (alone.meets_slo, alone.baseline, alone.direction) == (True, None, None)


def test_key_figures_cover_every_endpoint() -> None:
    """One API p95 row per endpoint of [slo.endpoint_p95_ms] and any other the run measured."""
    current = figures()
    current["latency.api"]["p95_ms"]["docs"] = 9.0
    rows = key_figures(current, figures(), SuiteConfig())
    labels = [row.figure.label for row in rows]
    assert labels[: len(FIGURES)] == [fig.label for fig in FIGURES]
    assert labels[len(FIGURES) :] == [
        "API p95 health",
        "API p95 enqueue",
        "API p95 status",
        "API p95 search",
        "API p95 docs",
    ]
    docs = rows[-1]
    assert (docs.value, docs.slo, docs.baseline) == (9.0, None, None)
