"""The monitoring checks fail when the stack's own Prometheus/Alertmanager stop doing their job.

Each case boots a stack whose monitoring is broken the way a deployment's breaks: Prometheus
reloaded to scrape over TLS with a CA that does not sign the API's certificate (every scrape
fails TLS, whether the API process serves plain HTTP behind the ingress or HTTPS itself), the
Prometheus process killed, a rule file that lost the Watchdog, the suite told a job label no
target has. The checks then run in a
subprocess against it, with a short ``monitoring_wait_s`` so that waiting for what never comes
is brief; each case also pins the reason, so a failure for another cause does not count.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from service.stack import StackOptions, StackSettings, running_stack
from service.stack.polling import wait_until
from service.stack.tls import write_tls
from tests.selftests.broken import REPO_ROOT, failed, run_checks

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not shutil.which("prometheus")
        or not (shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")),
        reason="prometheus/alertmanager not installed (apt-get install prometheus "
        "prometheus-alertmanager)",
    ),
]
QUICK = "[postdeploy]\nmonitoring_wait_s = 3.0\n"
SCRAPE_IDS = ["post24h.monitoring", "metrics.prometheus"]


def _assert_fail_because(items: dict[str, dict[str, Any]], reasons: dict[str, str]) -> None:
    ids = list(reasons)
    assert not failed(items, ids), failed(items, ids)
    wrong = {i: items[i]["reason"] for i, why in reasons.items() if why not in items[i]["reason"]}
    assert not wrong, wrong


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie its parent (the stack) has not reaped yet."""
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True


def _platform_target(prometheus: str) -> dict[str, Any]:
    """The API's scrape target ({} while a reload has it rediscovered)."""
    body = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).json()
    ours = [t for t in body["data"]["activeTargets"] if t["labels"]["job"] == "platform"]
    return dict(ours[0]) if ours else {}


def test_scrape_with_the_wrong_ca_fails(tmp_path: Path) -> None:
    """Prometheus reloaded to scrape over TLS with another CA: scrapes fail, the targets are
    down."""
    with running_stack(StackOptions(workers=1, directory=tmp_path / "stack")) as stack:
        monitoring = stack.info.monitoring
        assert monitoring.prometheus_config is not None and monitoring.prometheus_url
        other = write_tls(tmp_path / "other-ca", 30).ca_file
        config = yaml.safe_load(monitoring.prometheus_config.read_text())
        config["scrape_configs"][0].update(scheme="https", tls_config={"ca_file": str(other)})
        monitoring.prometheus_config.write_text(yaml.safe_dump(config))
        os.kill(monitoring.pids["prometheus"], signal.SIGHUP)  # Prometheus reloads its config
        prometheus = monitoring.prometheus_url
        wait_until(
            lambda: (
                _platform_target(prometheus).get("scrapeUrl", "").startswith("https://")
                and bool(_platform_target(prometheus).get("lastError"))
            ),
            timeout=30,
            what="a scrape over TLS failing",
            interval=0.25,
        )
        items = run_checks(stack.info.stack_json, SCRAPE_IDS, tmp_path, config=QUICK)
    _assert_fail_because(items, dict.fromkeys(SCRAPE_IDS, "not scraped up"))


def test_killed_prometheus_fails(tmp_path: Path) -> None:
    """With the stack's Prometheus gone nothing is collected, and no rule is evaluated."""
    with running_stack(StackOptions(workers=1, directory=tmp_path / "stack")) as stack:
        pid = stack.info.monitoring.pids["prometheus"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: _gone(pid), timeout=10, what="Prometheus to die")
        ids = [*SCRAPE_IDS, "alerting.critical-configured"]
        items = run_checks(stack.info.stack_json, ids, tmp_path, config=QUICK)
    _assert_fail_because(
        items, {**dict.fromkeys(SCRAPE_IDS, "not scraped up"), ids[-1]: "/api/v1/rules"}
    )


def test_rules_without_watchdog_fail(tmp_path: Path) -> None:
    """A rule file that lost its meta group: no Watchdog fires, and the loaded rules lack it."""
    rules = yaml.safe_load((REPO_ROOT / "ops/prometheus/alerts.yml").read_text())
    rules["groups"] = [g for g in rules["groups"] if g["name"] != "meta"]
    broken = tmp_path / "alerts.yml"
    broken.write_text(yaml.safe_dump(rules))
    settings = StackSettings(alert_rules=[broken])
    options = StackOptions(workers=1, directory=tmp_path / "stack")
    with running_stack(options, settings) as stack:
        # The scrape is healthy here: wait for it, so that QUICK's short wait judges only the
        # missing watchdog (a busy machine can take longer than that for the first scrape).
        prometheus = stack.info.monitoring.prometheus_url
        assert prometheus
        wait_until(
            lambda: _platform_target(prometheus).get("health") == "up",
            timeout=60,
            what="the first successful scrape",
            interval=0.25,
        )
        ids = ["post24h.monitoring", "alerting.critical-configured"]
        items = run_checks(stack.info.stack_json, ids, tmp_path, config=QUICK)
    _assert_fail_because(
        items, {ids[0]: "no Watchdog alert", ids[1]: "has not loaded: ['Watchdog']"}
    )


def test_platform_selected_by_another_job_label_fails(tmp_path: Path) -> None:
    """The suite selects the platform by labels ([monitoring] job), not by the public URL: told
    a job no scrape target has, it finds the platform unscraped, though Prometheus is healthy."""
    with running_stack(StackOptions(workers=1, directory=tmp_path / "stack")) as stack:
        prometheus = stack.info.monitoring.prometheus_url
        assert prometheus
        wait_until(
            lambda: _platform_target(prometheus).get("health") == "up",
            timeout=60,
            what="the first successful scrape",
            interval=0.25,
        )
        config = QUICK + '[monitoring]\njob = "platform-staging"\n'
        items = run_checks(stack.info.stack_json, SCRAPE_IDS, tmp_path, config=config)
    _assert_fail_because(items, dict.fromkeys(SCRAPE_IDS, "not scraped up"))
