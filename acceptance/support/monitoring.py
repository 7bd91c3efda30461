"""The Prometheus and Alertmanager that watch the target, and what the checks ask them.

Where they are: ``[postdeploy] prometheus_url`` / ``alertmanager_url`` (``[observability]
prometheus_url``, the older key, also names a Prometheus), else the ones the reference stack runs
(``stack.json`` ``monitoring``). The stack's Alertmanager sends its notifications to a loopback
receiver whose record is ground truth; an Alertmanager named in the configuration notifies real
people, whom the suite cannot ask.

The platform's scrape targets are the ones its labels select (``[monitoring] job`` and
``instance``), never the public URL: that is the ingress, while Prometheus scrapes the API
processes at their own addresses, as a real one scrapes pods. On the reference stack the
processes ``stack.json`` lists (``api``) must each be among them.

A fresh Prometheus discovers its targets and its Alertmanager about 5 s after it starts, and a
busy machine may fail one scrape; so the questions are polls bounded by ``[postdeploy]
monitoring_wait_s`` that end as soon as the answer is yes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.settings.monitoring import MonitoringSettings
from service.waiting import PollTimeout, poll_until

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Monitoring:
    """Where the target's monitoring answers; None where there is none to ask (``missing``)."""

    prometheus: str | None
    alertmanager: str | None
    receiver_log: Path | None = None  # the stack's record of its Alertmanager's notifications
    missing: str = ""

    def require(self) -> tuple[str, str] | None:
        """Both URLs, or None when one of them is unknown (``missing`` says why)."""
        if self.prometheus is None or self.alertmanager is None:
            return None
        return self.prometheus, self.alertmanager


def monitoring(target: Target, config: SuiteConfig) -> Monitoring:
    """Each URL from the configuration, else from the stack; what is absent, and why."""
    post = config.postdeploy
    stack = target.stack.monitoring if target.stack is not None else None
    urls = {
        "prometheus": post.prometheus_url
        or config.observability.prometheus_url
        or (stack.prometheus_url if stack else None),
        "alertmanager": post.alertmanager_url or (stack.alertmanager_url if stack else None),
    }
    record = stack.receiver_log if stack is not None and not post.alertmanager_url else None
    missing = [
        f"no {part} ([postdeploy] {part}_url unset; "
        + (stack.skipped.get(part, "none in stack.json") if stack else "no reference stack")
        + ")"
        for part, url in urls.items()
        if not url
    ]
    return Monitoring(
        urls["prometheus"],
        urls["alertmanager"],
        receiver_log=Path(record) if record and urls["alertmanager"] else None,
        missing="; ".join(missing),
    )


def _endpoint(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url if "://" in url else f"//{url}")
    return (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(parts.scheme)


def _get(url: str, timeout: float, **params: str) -> Any:
    answer = httpx.get(url, params=params, timeout=timeout)
    answer.raise_for_status()
    return answer.json()


def scrape_targets(
    prometheus: str, selection: MonitoringSettings, timeout: float
) -> list[dict[str, Any]]:
    """Prometheus' active targets that are the platform's by their labels."""
    body = _get(f"{prometheus.rstrip('/')}/api/v1/targets", timeout, state="active")
    return [
        t
        for t in body.get("data", {}).get("activeTargets", [])
        if selection.selects({str(k): str(v) for k, v in (t.get("labels") or {}).items()})
    ]


def stack_instances(target: Target) -> list[str]:
    """The API processes' own addresses (host:port) a reference stack lists; [] otherwise."""
    processes = getattr(target.stack, "api", None) or []
    return [urlsplit(str(process.url)).netloc for process in processes]


def summary(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a report needs of each scrape target."""
    keys = ("scrapeUrl", "health", "lastError", "lastScrape")
    return [
        {k: t.get(k) for k in keys}
        | {label: t.get("labels", {}).get(label) for label in ("job", "instance")}
        for t in targets
    ]


def wait_scraped_up(
    prometheus: str, target: Target, config: SuiteConfig, wait_s: float, timeout: float
) -> tuple[bool, list[dict[str, Any]] | str]:
    """Poll until Prometheus has scrape targets with the platform's labels, every one of them up
    and, on a reference stack, each of its API processes among them.

    Returns (True, targets), or (False, the last targets seen or the last error) at the deadline.
    """
    last: list[dict[str, Any]] | str = "never answered"
    expected = stack_instances(target)

    def up() -> list[dict[str, Any]] | None:
        nonlocal last
        try:
            ours = scrape_targets(prometheus, config.monitoring, timeout)
        except (httpx.HTTPError, ValueError) as error:
            last = f"{prometheus}: {type(error).__name__}: {error}"
            return None
        scraped = {_endpoint(str(t.get("scrapeUrl", ""))) for t in ours}
        unscraped = [a for a in expected if _endpoint(a) not in scraped]
        last = summary(ours) + [{"instance": a, "health": "not scraped"} for a in unscraped]
        healthy = ours and all(t.get("health") == "up" for t in ours)
        return ours if healthy and not unscraped else None

    try:
        return True, summary(poll_until(up, timeout=wait_s, interval=0.25))
    except PollTimeout:
        return False, last


def firing_alerts(alertmanager: str, name: str, wait_s: float, timeout: float) -> list[Any]:
    """Active alerts called ``name`` in Alertmanager, polled for up to ``wait_s`` ([] if none)."""

    def named() -> list[Any]:
        try:
            alerts = _get(
                f"{alertmanager.rstrip('/')}/api/v2/alerts", timeout, filter=f'alertname="{name}"'
            )
        except (httpx.HTTPError, ValueError):
            return []
        return [a for a in alerts if a.get("labels", {}).get("alertname") == name]

    try:
        found: list[Any] = poll_until(named, timeout=wait_s, interval=0.25)
    except PollTimeout:
        return []
    return found


def notified_receivers(receiver_log: Path, name: str, wait_s: float) -> list[str]:
    """Receivers to which the stack's Alertmanager sent a notification holding alert ``name``."""

    def receivers() -> list[str]:
        if not receiver_log.is_file():
            return []
        lines = receiver_log.read_text(encoding="utf-8").splitlines()
        bodies = [json.loads(line).get("body", {}) for line in lines if line.strip()]
        return sorted(
            {
                str(body.get("receiver"))
                for body in bodies
                if any(a.get("labels", {}).get("alertname") == name for a in body.get("alerts", []))
            }
        )

    try:
        found: list[str] = poll_until(receivers, timeout=wait_s, interval=0.25)
    except PollTimeout:
        return []
    return found


def loaded_rules(prometheus: str, timeout: float) -> dict[str, list[dict[str, Any]]]:
    """Alerting rules Prometheus has loaded, by group name."""
    body = _get(f"{prometheus.rstrip('/')}/api/v1/rules", timeout, type="alert")
    return {
        str(group.get("name")): list(group.get("rules", []))
        for group in body.get("data", {}).get("groups", [])
    }
