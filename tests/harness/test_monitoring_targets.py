"""Which Prometheus and Alertmanager the monitoring checks ask, and how they find the platform
in it (acceptance/support/monitoring)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.settings.monitoring import MonitoringSettings
from acceptance.support.monitoring import monitoring, wait_scraped_up
from service.stack.info import ApiProcessInfo, MonitoringInfo, StackInfo, StackKeys

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


def _targets_body(*targets: tuple[str, str, str]) -> dict[str, Any]:
    """A Prometheus /api/v1/targets answer: (job, instance, health) per active target."""
    return {
        "status": "success",
        "data": {
            "activeTargets": [
                {
                    "labels": {"job": job, "instance": instance},
                    "scrapeUrl": f"http://{instance}/metrics",
                    "health": health,
                    "lastError": "",
                }
                for job, instance, health in targets
            ]
        },
    }


@contextlib.contextmanager
def _prometheus(body: dict[str, Any]) -> Iterator[str]:
    """A loopback server answering /api/v1/targets with ``body``, as Prometheus would."""

    class Targets(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Targets)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_labels_select_the_platform() -> None:
    """job must equal, instance (when given) must match the whole label."""
    default = MonitoringSettings()
    assert default.selects({"job": "platform", "instance": "10.0.0.1:8000"})
    assert not default.selects({"job": "vllm", "instance": "10.0.0.1:8000"})
    one = MonitoringSettings(instance=r"10\.0\.0\.\d+:8000")
    assert one.selects({"job": "platform", "instance": "10.0.0.7:8000"})
    assert not one.selects({"job": "platform", "instance": "10.0.0.7:80001"})
    with pytest.raises(ValidationError):
        MonitoringSettings(instance="(")


def test_scrape_targets_found_by_labels_not_by_the_public_url(tmp_path: Path) -> None:
    """Behind an ingress the public URL is no scrape target: the platform's targets are found
    by job, and on a stack each API process must be among them, up."""
    stack = _stack(tmp_path, MonitoringInfo())
    stack.api = [
        ApiProcessInfo(name="api", url="http://127.0.0.1:9001"),
        ApiProcessInfo(name="api-2", url="http://127.0.0.1:9002"),
    ]
    both = _targets_body(
        ("platform", "127.0.0.1:9001", "up"),
        ("platform", "127.0.0.1:9002", "up"),
        ("vllm", "127.0.0.1:9003", "up"),
    )
    one = _targets_body(("platform", "127.0.0.1:9001", "up"))
    config = SuiteConfig()
    with _prometheus(both) as prometheus:
        up, scraped = wait_scraped_up(prometheus, _target(stack), config, 1.0, 5.0)
        assert up and [t["instance"] for t in scraped] == ["127.0.0.1:9001", "127.0.0.1:9002"]
        elsewhere = SuiteConfig.model_validate({"monitoring": {"job": "platform-eu"}})
        assert not wait_scraped_up(prometheus, _target(stack), elsewhere, 0.5, 5.0)[0]
    with _prometheus(one) as prometheus:
        up, scraped = wait_scraped_up(prometheus, _target(stack), config, 0.5, 5.0)
    assert not up
    assert {"instance": "127.0.0.1:9002", "health": "not scraped"} in scraped
