"""Alerting: the rule files are valid, cover the critical conditions, and their thresholds are
pinned by unit tests that promtool runs.

A rule on a metric the service does not expose is valid PromQL that can never fire, so the
critical conditions are matched against what the target's /metrics offers, not only by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.monitoring import loaded_rules, monitoring
from acceptance.support.ops_artefacts import (
    AlertRule,
    artefact,
    exposed_metric_names,
    expr_metrics,
    load_alert_rules,
    load_yaml,
    parse_selector,
    run_tool,
    tool,
    uses_selector,
)

# Written by Prometheus itself for every scrape target, never by the target's /metrics.
SCRAPE_METRICS = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})


def _tail(text: str, limit: int = 1500) -> str:
    return text.strip()[-limit:]


@pytest.mark.checklist("alerting.critical-configured")
def test_critical_alerts_cover_required_conditions(
    pytestconfig: pytest.Config,
    config: SuiteConfig,
    anon_client: httpx.Client,
    target: Target,
    evidence: Evidence,
) -> None:
    """promtool accepts the rule files, and each required condition has a critical alert on a
    metric the target exposes; the target's Prometheus, where there is one, has loaded them."""
    ops = config.ops
    files = [artefact(pytestconfig, path) for path in ops.rules_files]
    checked = run_tool([tool(ops.promtool), "check", "rules", *map(str, files)], ops.tool_timeout_s)
    assert checked.returncode == 0, (
        f"promtool check rules: {_tail(checked.stdout + checked.stderr)}"
    )
    rules = load_alert_rules(files)
    metrics = anon_client.get("/metrics")
    assert metrics.status_code == 200, f"GET /metrics: {metrics.status_code}"
    exposed = exposed_metric_names(metrics.text)

    covered: dict[str, list[str]] = {}
    missing, unexposed = [], []
    for condition, selector in ops.alert_conditions.items():
        name, _ = parse_selector(selector)
        critical = [
            r for r in rules if r.severity == "critical" and uses_selector(r.expr, selector)
        ]
        if not critical:
            missing.append(f"{condition} ({selector})")
        elif name not in SCRAPE_METRICS and name not in exposed:
            unexposed.append(f"{condition}: {name}")
        covered[condition] = sorted({r.name for r in critical})
    platform_unexposed = sorted(
        {m for r in rules for m in expr_metrics(r.expr) if m.startswith("platform_")} - exposed
    )
    evidence.add(
        alerts=len(rules),
        critical_alerts=sorted({r.name for r in rules if r.severity == "critical"}),
        conditions=covered,
        rule_metrics_not_exposed=platform_unexposed,
    )
    assert not missing, f"no critical alert for: {', '.join(missing)}"
    assert not unexposed, (
        "critical alerts on metrics the target does not expose (they can never fire): "
        + ", ".join(unexposed)
    )
    assert not platform_unexposed, (
        f"alerts on platform metrics the target does not expose: {platform_unexposed}"
    )
    prometheus = monitoring(target, config).prometheus
    if prometheus is not None:
        _rules_loaded(prometheus, config, rules, evidence)


def _rules_loaded(
    prometheus: str, config: SuiteConfig, rules: list[AlertRule], evidence: Evidence
) -> None:
    """The live Prometheus has loaded every alert of the rule files, in their groups, and none
    of them fails to evaluate."""
    try:
        groups = loaded_rules(prometheus, config.http_timeout_s)
    except (httpx.HTTPError, ValueError) as error:
        pytest.fail(f"{prometheus}/api/v1/rules: {type(error).__name__}: {error}")
    loaded = {str(rule.get("name")) for group in groups.values() for rule in group}
    broken = sorted(
        f"{rule.get('name')}: {rule.get('lastError')}"
        for group in groups.values()
        for rule in group
        if rule.get("health") == "err"
    )
    wanted = {r.name for r in rules}
    evidence.add(
        prometheus=prometheus,
        prometheus_rule_groups=sorted(groups),
        prometheus_rules_loaded=len(loaded),
    )
    assert wanted <= loaded, f"{prometheus} has not loaded: {sorted(wanted - loaded)}"
    assert not broken, f"rules that fail to evaluate in {prometheus}: {broken}"


def _rule_test_cases(path: Path) -> tuple[set[Path], list[dict[str, Any]]]:
    """Rule files a promtool test file names (resolved) and its alert_rule_test entries."""
    data = load_yaml(path) or {}
    rule_files = {(path.parent / str(f)).resolve() for f in data.get("rule_files") or []}
    cases = [case for test in data.get("tests") or [] for case in test.get("alert_rule_test") or []]
    return rule_files, cases


@pytest.mark.checklist("alerting.thresholds")
def test_rule_unit_tests_pin_thresholds(
    pytestconfig: pytest.Config, config: SuiteConfig, evidence: Evidence
) -> None:
    """promtool test rules passes, and every alert has a case where it fires and one where it
    stays quiet (at its threshold, or before its for: has elapsed)."""
    ops = config.ops
    rule_files = {artefact(pytestconfig, path).resolve() for path in ops.rules_files}
    test_files = [artefact(pytestconfig, path) for path in ops.rule_tests]
    firing: set[str] = set()
    quiet: set[str] = set()
    tested_files: set[Path] = set()
    for path in test_files:
        files, cases = _rule_test_cases(path)
        tested_files |= files
        for case in cases:
            (firing if case.get("exp_alerts") else quiet).add(str(case.get("alertname")))
    rules = load_alert_rules(sorted(rule_files))
    heartbeat = {r.name for r in rules if r.severity == "none"}
    names = {r.name for r in rules}
    evidence.add(
        test_files=[p.name for p in test_files], alerts=len(names), firing_cases=len(firing)
    )
    assert rule_files <= tested_files, (
        f"rule files without unit tests: {sorted(p.name for p in rule_files - tested_files)}"
    )
    ran = run_tool([tool(ops.promtool), "test", "rules", *map(str, test_files)], ops.tool_timeout_s)
    assert ran.returncode == 0, f"promtool test rules failed: {_tail(ran.stdout + ran.stderr)}"
    assert not names - firing, f"alerts never shown to fire: {sorted(names - firing)}"
    unbounded = names - quiet - heartbeat
    assert not unbounded, f"alerts without a case where they must stay quiet: {sorted(unbounded)}"
