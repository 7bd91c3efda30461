"""Alerting: notifications get through (a test alert reaches the configured receiver) and are not
so frequent that people stop reading them (for-durations, grouping, repeat intervals, inhibition).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from acceptance.alerting.alertmanager_probe import (
    TEST_ALERT,
    loopback_receiver,
    post_test_alert,
    routed_receivers,
    running_alertmanager,
)
from acceptance.alerting.alertmanager_routes import TIMINGS, matchers, routes
from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import needs_confirmation, not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.ops_artefacts import artefact, load_alert_rules, load_yaml, run_tool, tool
from service.stack.monitoring_config import loopback_copy
from service.waiting import poll_until

# The test alert is routed like a real page: critical, on a service of its own.
TEST_LABELS = {"severity": "critical", "service": "preflight"}


def _expected_receivers(amtool: str, path: Path, timeout_s: float) -> list[str]:
    """Receivers the routing tree picks for the test alert, as amtool computes them."""
    labels = [f"{k}={v}" for k, v in {"alertname": TEST_ALERT, **TEST_LABELS}.items()]
    done = run_tool(
        [amtool, "config", "routes", "test", f"--config.file={path}", *labels], timeout_s
    )
    assert done.returncode == 0, f"amtool config routes test: {done.stderr.strip()[-500:]}"
    return [name.strip() for name in done.stdout.strip().split(",") if name.strip()]


def _delivered(received: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """Receivers (webhook paths) that got a notification holding the test alert."""
    return {
        path.strip("/")
        for path, body in received
        if any(a.get("labels", {}).get("alertname") == TEST_ALERT for a in body.get("alerts", []))
    }


@pytest.mark.checklist("alerting.channels")
def test_test_alert_reaches_receiver(
    pytestconfig: pytest.Config, config: SuiteConfig, evidence: Evidence, tmp_path: Path
) -> None:
    """amtool accepts the configuration, and a critical test alert sent through Alertmanager
    arrives at the receiver the routing tree names."""
    ops = config.ops
    path = artefact(pytestconfig, ops.alertmanager_config)
    amtool = tool(ops.amtool)
    checked = run_tool([amtool, "check-config", str(path)], ops.tool_timeout_s)
    assert checked.returncode == 0, f"amtool check-config: {checked.stdout.strip()[-1500:]}"
    expected = _expected_receivers(amtool, path, ops.tool_timeout_s)
    evidence.add(expected_receivers=expected)
    live = config.postdeploy.alertmanager_url
    if live:
        post_test_alert(live, TEST_LABELS, config.http_timeout_s)
        routed = poll_until(
            lambda: routed_receivers(live, config.http_timeout_s),
            timeout=ops.delivery_timeout_s,
            message="test alert not routed",
        )
        evidence.add(alertmanager=live, routed_to=routed)
        needs_confirmation(
            f"test alert routed to {', '.join(routed)} by {live}; confirm it arrived"
        )
    binary = next((b for b in ops.alertmanager_binaries if shutil.which(b)), None)
    if binary is None:
        not_verified(
            f"no Alertmanager: neither an alertmanager_url nor one of "
            f"{ops.alertmanager_binaries} installed"
        )
    with loopback_receiver() as inbox:
        base = f"http://127.0.0.1:{inbox.server_address[1]}"
        test_config, dropped = loopback_copy(load_yaml(path), base)
        unobservable = [r for r in expected if not _has_webhook(test_config, r)]
        if unobservable:
            not_verified(f"receivers {unobservable} have no webhook the suite can observe")
        with running_alertmanager(
            tool(binary), test_config, tmp_path, ops.delivery_timeout_s
        ) as url:
            post_test_alert(url, TEST_LABELS, config.http_timeout_s)
            poll_until(
                lambda: set(expected) <= _delivered(inbox.received),
                timeout=ops.delivery_timeout_s,
                message=f"test alert did not reach {expected}",
            )
    evidence.add(delivered_to=sorted(_delivered(inbox.received)), not_exercised=dropped)


def _has_webhook(config: dict[str, Any], receiver: str) -> bool:
    return any(
        r.get("name") == receiver and r.get("webhook_configs") for r in config.get("receivers", [])
    )


@pytest.mark.checklist("alerting.fatigue")
def test_alert_fatigue_controls(
    pytestconfig: pytest.Config, config: SuiteConfig, evidence: Evidence
) -> None:
    """Alerts wait a for-duration and carry a severity; the routing tree groups, repeats no
    faster than the policy, and a critical alert inhibits the warning of the same condition."""
    ops = config.ops
    rules = load_alert_rules([artefact(pytestconfig, p) for p in ops.rules_files])
    heartbeat = {r.name for r in rules if r.severity == "none"}
    no_for = sorted(
        {r.name for r in rules if r.severity != "none" and (r.for_s or 0) < ops.alert_min_for_s}
    )
    bad_severity = sorted(
        {f"{r.name}: {r.severity}" for r in rules if r.severity not in ops.alert_severities}
    )
    am = load_yaml(artefact(pytestconfig, ops.alertmanager_config)) or {}
    tree = list(routes(am))
    unset = [key for key in ("group_by", *TIMINGS) if key not in (am.get("route") or {})]
    chatty = [
        f"{r.path} ({r.receiver}): {r.timings['repeat_interval']} s"
        for r in tree
        if not any(lb == "alertname" and op == "=" and v in heartbeat for lb, op, v in r.matchers)
        and (r.timings["repeat_interval"] or 0) < ops.repeat_interval_min_s
    ]
    inhibits = [
        rule
        for rule in am.get("inhibit_rules") or []
        if ("severity", "=", "critical")
        in matchers(rule, "source_matchers", "source_match", "source_match_re")
        and ("severity", "=", "warning")
        in matchers(rule, "target_matchers", "target_match", "target_match_re")
        and "alertname" in (rule.get("equal") or [])
    ]
    evidence.add(
        alerts_without_for=no_for,
        group_by=list(tree[0].group_by),
        timings_s=tree[0].timings,
        routes=len(tree),
        inhibit_rules=len(am.get("inhibit_rules") or []),
    )
    assert not no_for, f"alerts without a for: of at least {ops.alert_min_for_s} s: {no_for}"
    assert not bad_severity, f"alerts without an allowed severity: {bad_severity}"
    assert not unset, f"root route leaves unset: {unset}"
    assert "..." not in tree[0].group_by, "group_by: ['...'] sends every alert on its own"
    assert not chatty, f"routes repeating faster than {ops.repeat_interval_min_s} s: {chatty}"
    assert inhibits, (
        "no inhibit rule by which a critical alert silences the warning of the same alertname"
    )
