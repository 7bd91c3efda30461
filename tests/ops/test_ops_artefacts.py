"""Helpers that read the ops/ artefacts: durations, selectors, runbook anchors, route timings."""

from __future__ import annotations

from pathlib import Path

import pytest

from acceptance.alerting.alertmanager_routes import routes
from acceptance.support.ops_artefacts import (
    duration_s,
    exposed_metric_names,
    expr_metrics,
    markdown_sections,
    runbook_target,
    uses_selector,
)
from service.stack.monitoring_config import loopback_copy


def test_durations() -> None:
    """Prometheus durations, compound ones included; garbage is refused."""
    assert duration_s("1h30m") == 5400 and duration_s("30s") == 30 and duration_s(None) is None
    with pytest.raises(AssertionError):
        duration_s("5 minutes")


def test_expression_metrics_skip_labels_and_strings() -> None:
    """Label names, values and grouping labels are not taken for metric names."""
    expr = 'sum by (le) (rate(x_bucket{status=~"5..",job="a"}[5m])) / on(job) y > 1'
    assert {"x_bucket", "y"} <= expr_metrics(expr)
    assert not {"status", "le", "job", "a"} & expr_metrics(expr)


def test_selector_needs_every_matcher() -> None:
    """A selector with a label matcher matches only expressions that use that matcher."""
    assert uses_selector(
        'platform_queue_depth{queue="dead"} > 10', 'platform_queue_depth{queue="dead"}'
    )
    assert not uses_selector(
        'platform_queue_depth{queue="hot"} > 10', 'platform_queue_depth{queue="dead"}'
    )


def test_runbook_anchor_resolves_to_section() -> None:
    """GitHub-style anchors find the section body up to the next heading of the same level."""
    sections = markdown_sections("# T\n\n## Queue Backlog\n\nbody\n### sub\nmore\n## Next\nx\n")
    assert "body" in sections["queue-backlog"] and "more" in sections["queue-backlog"]
    assert "x" not in sections["queue-backlog"]
    path, anchor = runbook_target("https://h/x/ops/runbooks/queue.md#queuebacklog", Path("/r"))
    assert (path, anchor) == (Path("/r/queue.md"), "queuebacklog")


def test_empty_families_count_as_exposed() -> None:
    """A labelled counter nobody incremented yet is still offered (with its _total name)."""
    text = "# HELP c_total help\n# TYPE c_total counter\n"
    assert "c_total" in exposed_metric_names(text)


def test_routes_inherit_timings_and_loopback_drops_other_integrations() -> None:
    """Children inherit repeat_interval; the test copy keeps only webhooks, pointed at loopback."""
    config = {
        "route": {
            "receiver": "a",
            "repeat_interval": "4h",
            "routes": [{"receiver": "b", "matchers": ['severity="critical"']}],
        },
        "receivers": [
            {"name": "a", "email_configs": [{"to": "x@y.z"}]},
            {"name": "b", "webhook_configs": [{"url": "https://pager"}]},
        ],
    }
    tree = list(routes(config))
    assert tree[1].timings["repeat_interval"] == 14400
    assert tree[1].matchers == (("severity", "=", "critical"),)
    copy, dropped = loopback_copy(config, "http://127.0.0.1:1")
    assert dropped == ["a: email_configs"]
    assert copy["receivers"][1]["webhook_configs"][0]["url"] == "http://127.0.0.1:1/b"
    assert config["receivers"][1]["webhook_configs"][0]["url"] == "https://pager"
