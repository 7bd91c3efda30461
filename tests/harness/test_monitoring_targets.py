"""Which Prometheus and Alertmanager the monitoring checks ask (acceptance/support/monitoring)."""

from __future__ import annotations

from pathlib import Path

from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.monitoring import monitoring
from service.stack.info import MonitoringInfo, StackInfo, StackKeys

KEYS = StackKeys(api="a", api_2="b", admin="c", revoked="d")


def _target(stack: StackInfo | None) -> Target:
    return Target(
        url="https://127.0.0.1:8443",
        api_key=None,
        api_key_2=None,
        admin_key=None,
        revoked_key=None,
        ca_file=None,
        verify=True,
        stack=stack,
    )


def _stack(tmp_path: Path, watched: MonitoringInfo) -> StackInfo:
    return StackInfo(
        url="https://127.0.0.1:8443",
        ca_file=tmp_path / "ca.pem",
        environment="local",
        dir=tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        keys=KEYS,
        key_ids=KEYS,
        monitoring=watched,
    )


def _config(**postdeploy: str) -> SuiteConfig:
    return SuiteConfig.model_validate({"postdeploy": postdeploy})


def test_external_target_without_urls_has_none_and_says_why() -> None:
    """No configuration and no stack: nothing to ask, with the reason per part."""
    found = monitoring(_target(None), _config())
    assert found.require() is None
    assert "no prometheus ([postdeploy] prometheus_url unset; no reference stack)" in found.missing
    assert "no alertmanager" in found.missing


def test_stack_urls_used_when_unconfigured(tmp_path: Path) -> None:
    """The stack's monitoring, with its receiver record (ground truth of notifications)."""
    watched = MonitoringInfo(
        prometheus_url="http://127.0.0.1:9090",
        alertmanager_url="http://127.0.0.1:9093",
        receiver_log=tmp_path / "notes.jsonl",
    )
    found = monitoring(_target(_stack(tmp_path, watched)), _config())
    assert found.require() == ("http://127.0.0.1:9090", "http://127.0.0.1:9093")
    assert found.receiver_log == tmp_path / "notes.jsonl"


def test_configured_urls_win_and_the_stack_record_is_not_theirs(tmp_path: Path) -> None:
    """[postdeploy] URLs replace the stack's; the stack's receiver says nothing about them."""
    watched = MonitoringInfo(
        prometheus_url="http://127.0.0.1:9090",
        alertmanager_url="http://127.0.0.1:9093",
        receiver_log=tmp_path / "notes.jsonl",
    )
    config = _config(prometheus_url="http://prom:9090", alertmanager_url="http://am:9093")
    found = monitoring(_target(_stack(tmp_path, watched)), config)
    assert found.require() == ("http://prom:9090", "http://am:9093")
    assert found.receiver_log is None


def test_stack_without_monitoring_gives_its_reason(tmp_path: Path) -> None:
    """A stack that skipped Prometheus: the reason recorded in stack.json reaches the verdict."""
    skipped = {
        "prometheus": "not started: no executable found",
        "alertmanager": "not asked for (--no-monitoring)",
    }
    watched = MonitoringInfo(skipped=skipped)
    found = monitoring(_target(_stack(tmp_path, watched)), _config())
    assert found.require() is None
    assert "no executable found" in found.missing and "--no-monitoring" in found.missing
