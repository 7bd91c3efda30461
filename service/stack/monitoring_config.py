"""Configuration and command lines of Prometheus and Alertmanager, for the stack and the suite.

The repository's own artefacts are what runs: ``ops/prometheus/alerts.yml`` as the rule file and
``ops/alertmanager/alertmanager.yml`` with its webhooks pointed at a loopback receiver
(``loopback_copy``), so the stack exercises the alerting a deployment would get, not a stand-in.
The suite's ``alerting.channels`` uses the same copy and command line for its bounded
Alertmanager.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

READY_PATH = "/-/ready"


def loopback_copy(config: dict[str, Any], base_url: str) -> tuple[dict[str, Any], list[str]]:
    """The configuration with every webhook sent to ``base_url/<receiver>``, every other
    integration removed (a test must not page anyone) and no group wait (so an alert goes
    out at once). Returns the copy and the integrations that were removed."""
    test = copy.deepcopy(config)
    dropped: list[str] = []
    for receiver in test.get("receivers") or []:
        name = str(receiver.get("name"))
        for key in [k for k in receiver if k.endswith("_configs") and k != "webhook_configs"]:
            dropped.append(f"{name}: {key}")
            del receiver[key]
        for hook in receiver.get("webhook_configs") or []:
            hook.pop("url_file", None)
            hook["url"] = f"{base_url}/{name}"

    def no_wait(node: dict[str, Any]) -> None:
        node["group_wait"] = "0s"
        for child in node.get("routes") or []:
            no_wait(child)

    no_wait(test.setdefault("route", {}))
    return test, dropped


def alertmanager_argv(binary: str, config_file: Path, storage: Path, port: int) -> list[str]:
    """Alertmanager on 127.0.0.1:``port``, clustering off (a lone instance that would wait for
    gossip peers before it calls itself ready)."""
    return [
        binary,
        f"--config.file={config_file}",
        f"--storage.path={storage}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]


def prometheus_argv(
    binary: str, config_file: Path, storage: Path, port: int, retention: str, resend_s: float
) -> list[str]:
    """Prometheus on 127.0.0.1:``port`` with its TSDB in ``storage``, kept ``retention``.

    ``resend_s``: how often a firing alert is sent again (default one minute). An alert that
    fires before Prometheus has discovered its Alertmanager (about 5 s after the start) is only
    delivered by such a resend, so a stack that lives a minute needs it short.
    """
    return [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={storage}",
        f"--storage.tsdb.retention.time={retention}",
        f"--rules.alert.resend-delay={duration(resend_s)}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]


def duration(seconds: float) -> str:
    """Seconds as a Prometheus duration ("1500ms"): it takes no fractional units."""
    return f"{max(1, round(seconds * 1000))}ms"


def prometheus_config(
    *,
    api_addresses: list[str],
    ca_file: Path,
    rule_files: list[Path],
    scrape_interval_s: float,
    evaluation_interval_s: float,
    alertmanager_address: str | None = None,
    vllm_address: str | None = None,
    api_scheme: str = "https",
) -> dict[str, Any]:
    """Scrape each API process's /metrics at its own address (job ``platform``, the job the
    rules' ``up{job="platform"}`` and the suite's ``[monitoring] job`` expect; one ``instance``
    per process), over HTTPS verified with the stack's CA where the API serves HTTPS itself, and
    the vLLM emulator's (job ``vllm``); evaluate ``rule_files``; send alerts to the Alertmanager
    at ``alertmanager_address``."""
    interval = duration(scrape_interval_s)
    platform: dict[str, Any] = {"job_name": "platform", "scheme": api_scheme}
    if api_scheme == "https":
        platform["tls_config"] = {"ca_file": str(ca_file)}
    platform["static_configs"] = [{"targets": list(api_addresses)}]
    jobs: list[dict[str, Any]] = [platform]
    if vllm_address is not None:
        jobs.append({"job_name": "vllm", "static_configs": [{"targets": [vllm_address]}]})
    config: dict[str, Any] = {
        # A scrape may take the whole interval on a busy machine; never longer (Prometheus
        # refuses a timeout above the interval).
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": duration(evaluation_interval_s),
        },
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": jobs,
    }
    if alertmanager_address is not None:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [alertmanager_address]}]}]
        }
    return config
