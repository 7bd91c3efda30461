"""The stack's monitoring (service/stack/monitoring.py): Prometheus and Alertmanager when their
executables exist, the loopback receiver, and a stack that runs without them.

The booted cases use the real Debian binaries; without them they are skipped, and the cases
without binaries still run.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from service.stack import StackOptions, StackSettings, start_stack
from service.stack.alert_receiver import MAX_BODY_BYTES, loopback_receiver
from service.stack.boot import Layout
from service.stack.monitoring import Monitoring
from service.stack.monitoring_config import duration, prometheus_config
from service.stack.polling import wait_until
from service.stack.tls import write_tls

pytestmark = pytest.mark.timeout(120)
BINARIES = shutil.which("prometheus") and (
    shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
)
needs_binaries = pytest.mark.skipif(
    not BINARIES,
    reason="prometheus/alertmanager not installed (apt-get install prometheus "
    "prometheus-alertmanager)",
)
RULES = Path(__file__).resolve().parents[3] / "ops/prometheus/alerts.yml"


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def _targets(url: str) -> dict[str, dict[str, Any]]:
    body = httpx.get(f"{url}/api/v1/targets", timeout=5).json()
    return {t["labels"]["job"]: t for t in body["data"]["activeTargets"]}


def _notified(log: Path) -> set[str]:
    if not log.exists():
        return set()
    bodies = [json.loads(line)["body"] for line in log.read_text().splitlines() if line]
    return {a["labels"]["alertname"] for body in bodies for a in body.get("alerts", [])}


@needs_binaries
def test_prometheus_scrapes_the_api_and_the_watchdog_reaches_the_receiver(tmp_path: Path) -> None:
    """Prometheus scrapes the API process directly and vLLM, has the repo's rules loaded;
    the Watchdog goes through Alertmanager to the loopback receiver; stop ends both."""
    with start_stack(StackOptions(workers=1, directory=tmp_path / "stack")) as info:
        monitoring = info.monitoring
        assert monitoring.skipped == {}
        assert monitoring.prometheus_url and monitoring.alertmanager_url
        assert monitoring.receiver_log is not None
        assert {"prometheus.out", "alertmanager.out"} <= set(info.logs)
        assert "prometheus" not in info.pids  # the platform's pids, judged by the resource checks
        for url in (monitoring.prometheus_url, monitoring.alertmanager_url):
            assert httpx.get(f"{url}/-/ready", timeout=5).status_code == 200
        wait_until(
            lambda: (
                {t["health"] for t in _targets(str(monitoring.prometheus_url)).values()} == {"up"}
            ),
            timeout=30,
            what="both jobs scraped up",
            interval=0.25,
        )
        targets = _targets(str(monitoring.prometheus_url))
        assert set(targets) == {"platform", "vllm"}
        # The API processes' own addresses, not the public URL (the ingress, where nginx runs).
        body = httpx.get(f"{monitoring.prometheus_url}/api/v1/targets", timeout=5).json()
        scraped = {
            t["scrapeUrl"]
            for t in body["data"]["activeTargets"]
            if t["labels"]["job"] == "platform"
        }
        assert scraped == {f"{p.url}/metrics" for p in info.api}
        rules = httpx.get(f"{monitoring.prometheus_url}/api/v1/rules", timeout=5).json()
        groups = {g["name"] for g in rules["data"]["groups"]}
        assert groups == {g["name"] for g in yaml.safe_load(RULES.read_text())["groups"]}
        receiver_log = monitoring.receiver_log
        wait_until(
            lambda: "Watchdog" in _notified(receiver_log),
            timeout=30,
            what="the Watchdog notification",
            interval=0.25,
        )
        pids = dict(monitoring.pids)
        assert set(pids) == {"prometheus", "alertmanager"}
        config = yaml.safe_load((tmp_path / "stack/alertmanager/alertmanager.yml").read_text())
        hooks = [h["url"] for r in config["receivers"] for h in r.get("webhook_configs", [])]
        assert hooks and all(h.startswith("http://127.0.0.1:") for h in hooks)
    assert not [name for name, pid in pids.items() if _alive(pid)]


def test_no_monitoring_option_starts_neither(tmp_path: Path) -> None:
    """StackOptions(monitoring=False) (the CLI's --no-monitoring): nothing starts, and why."""
    layout = Layout(tmp_path / "stack")
    layout.create()
    monitoring = Monitoring(layout, StackSettings(), {}, enabled=False)
    monitoring.start_alertmanager()
    monitoring.start_prometheus(["https://127.0.0.1:1"], tmp_path / "ca.pem", {}, timeout=5)
    info = monitoring.wait_ready(timeout=5)
    assert monitoring.names == [] and monitoring.processes() == []
    assert info.prometheus_url is None and info.alertmanager_url is None
    assert set(info.skipped) == {"prometheus", "alertmanager"}
    assert "--no-monitoring" in info.skipped["prometheus"]


def test_absent_executables_are_skipped_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Missing binaries (or a missing rule file) are no boot failure: logged and recorded."""
    layout = Layout(tmp_path / "stack")
    layout.create()
    settings = StackSettings(
        prometheus_binary=str(tmp_path / "no-prometheus"),
        alertmanager_binaries=["no-such-alertmanager-a", "no-such-alertmanager-b"],
    )
    with caplog.at_level(logging.WARNING, logger="service.stack.monitoring"):
        monitoring = Monitoring(layout, settings, {}, enabled=True)
    assert monitoring.names == []
    assert "no-such-alertmanager-b" in monitoring.info.skipped["alertmanager"]
    assert "no-prometheus" in monitoring.info.skipped["prometheus"]
    assert len([r for r in caplog.records if "not started" in r.getMessage()]) == 2
    # Any existing executable will do: the rule file is looked for before anything starts.
    missing_rules = StackSettings(
        prometheus_binary=sys.executable, alert_rules=[tmp_path / "none.yml"]
    )
    skipped = Monitoring(layout, missing_rules, {}, enabled=True).info.skipped
    assert "none.yml" in skipped["prometheus"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    """The generated configuration is one Prometheus accepts, rule file included: the API
    over HTTPS (no ingress) or several API processes over plain HTTP (behind the ingress)."""
    tls = write_tls(tmp_path / "tls", 1)
    promtool = str(shutil.which("promtool"))
    for scheme, addresses in (
        ("https", ["127.0.0.1:8443"]),
        ("http", ["127.0.0.1:81", "[::1]:82"]),
    ):
        config = prometheus_config(
            api_addresses=addresses,
            api_scheme=scheme,
            ca_file=tls.ca_file,
            rule_files=[RULES],
            scrape_interval_s=1.5,
            evaluation_interval_s=1.0,
            alertmanager_address="127.0.0.1:9093",
            vllm_address="127.0.0.1:8000",
        )
        path = tmp_path / f"prometheus-{scheme}.yml"
        path.write_text(yaml.safe_dump(config))
        done = subprocess.run(
            [promtool, "check", "config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert config["global"]["scrape_interval"] == "1500ms" == duration(1.5)
        platform = config["scrape_configs"][0]
        assert platform["job_name"] == "platform"  # ServiceDown: up{job="platform"}
        assert platform["static_configs"] == [{"targets": addresses}]
        assert ("tls_config" in platform) == (scheme == "https")


def test_receiver_records_notifications_and_refuses_huge_bodies(tmp_path: Path) -> None:
    """Each POST is kept and written as one JSON line; a body over the cap is refused."""
    record = tmp_path / "notifications.jsonl"
    notification = {"receiver": "deadmans-switch", "alerts": [{"labels": {"alertname": "W"}}]}
    with loopback_receiver(record) as inbox:
        base = f"http://127.0.0.1:{inbox.server_address[1]}"
        assert httpx.post(f"{base}/deadmans-switch", json=notification).status_code == 200
        huge = httpx.post(f"{base}/x", content=b"x" * (MAX_BODY_BYTES + 1))
        assert huge.status_code == 413
        assert inbox.received == [("/deadmans-switch", notification)]
    (line,) = record.read_text().splitlines()
    assert json.loads(line)["body"] == notification
