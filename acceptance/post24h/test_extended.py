"""Extended Monitoring (within 24 hours): stability, resource usage, scheduled jobs, monitoring.

Restarts are read from the stack (its supervisor's counters, process start times), else from the
deployment's Prometheus (every process's start time and ``up`` over the window), else from the
API's own ``process_start_time_seconds``; memory from /proc or Prometheus
(``acceptance/support/processes.py``); scheduled jobs from /health's scheduler component (poll,
backup, retention purge; ``acceptance.post24h.schedules``); monitoring from the Prometheus and
Alertmanager APIs (``[postdeploy]``'s, else the stack's own).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.post24h import schedules
from acceptance.settings import SuiteConfig
from acceptance.support.api import health
from acceptance.support.monitoring import (
    firing_alerts,
    monitoring,
    notified_receivers,
    wait_scraped_up,
)
from acceptance.support.observe import deployment_start, endpoint_latencies, parse_time
from acceptance.support.platform_metrics import incomparable, platform_metrics
from acceptance.support.processes import ProcessWatch
from acceptance.support.prometheus_series import PrometheusError, down_since, started_since
from acceptance.support.shedding import shed_requests
from load.stats import percentile
from service.waiting import PollTimeout, poll_until

PHASE = "postdeploy_24h"
# A process may start a little after the deployment began (rollout, boot), never long after.
BOOT_GRACE_S = 120.0


def _prometheus_restarts(
    target: Target, config: SuiteConfig, since: float
) -> tuple[dict[str, object], str]:
    """Processes started after the deployment (and its boot) or down in some scrape since, by
    the deployment's Prometheus; ({}, why not) without one."""
    prometheus = monitoring(target, config).prometheus
    if prometheus is None:
        return {}, "no Prometheus ([postdeploy] prometheus_url)"
    try:
        started = started_since(prometheus, config, since + BOOT_GRACE_S)
        down = down_since(prometheus, config, since)
    except PrometheusError as exc:
        return {}, str(exc)
    found: dict[str, object] = {n: f"started at {t:.0f}" for n, t in started.items()}
    found.update({n: "down in a scrape" for n in down})
    return found, f"Prometheus {prometheus}"


@pytest.mark.checklist("post24h.stability")
def test_no_restarts_and_within_slo(
    anon_client: httpx.Client,
    client: httpx.Client,
    target: Target,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """No process restarted since the deployment; health latency and 5xx ratio within SLO."""
    since = deployment_start(config, target, PHASE)
    read = platform_metrics(target, config, anon_client)
    samples = read.samples
    # The latest start among the API processes: any of them restarting is a restart.
    api_start = max(read.per_instance("process_start_time_seconds").values(), default=None)
    if target.stack is not None:
        restarts: dict[str, object] = dict(target.stack.restarts)
        source = "stack supervisor"
    else:
        restarts, source = _prometheus_restarts(target, config, since.timestamp())
    latency, _ = endpoint_latencies(anon_client, client, 10)["health"]
    p95 = round(percentile(latency, 95) or 0.0, 2)
    counted = [
        s
        for s in samples
        if s.name == "platform_http_requests_total"
        and not s.labels.get("route", "").startswith("/admin/diagnostics")
    ]
    total = sum(s.value for s in counted) or 1.0
    errors = sum(s.value for s in counted if s.labels.get("status", "").startswith("5"))
    shed = shed_requests(samples, excluded=("/admin/diagnostics",))
    ratio = (errors - shed) / total
    late = api_start is not None and api_start > since.timestamp() + BOOT_GRACE_S
    evidence.add(
        since=since.isoformat(),
        restarts=restarts,
        restarts_source=source,
        api_started=api_start,
        health_p95_ms=p95,
        slo_ms=config.slo.endpoint_p95_ms.get("health"),
        error_ratio=round(ratio, 5),
        shed_503=shed,
        **read.evidence(),
    )
    restarted = {n: c for n, c in restarts.items() if c}
    unknown_start = config.postdeploy.deployed_at is None and target.stack is None
    if (late or restarted) and unknown_start:
        # Without the deployment time a process start inside the window may be the deployment
        # itself; calling it a restart would be a guess either way.
        not_verified(
            "a process started inside the window and the deployment time is unknown "
            "(set [postdeploy] deployed_at)"
        )
    assert not restarted, f"processes restarted: {restarted}"
    assert not late, f"API process started at {api_start}, after the deployment: it restarted"
    assert p95 <= config.slo.endpoint_p95_ms.get("health", p95), f"health p95 {p95} ms over SLO"
    assert ratio <= config.postdeploy.error_ratio_max, f"5xx ratio {ratio:.4f} over budget"


@pytest.mark.checklist("post24h.resource-usage")
def test_memory_and_disk_growth_bounded(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Over the observation window, no process's memory and no volume's usage grows past bounds."""
    post = config.postdeploy
    window = post.sample_s.get(PHASE, 1.5)
    disk_before = health(anon_client)["components"].get("disk", {}).get("free_bytes")
    before = platform_metrics(target, config, anon_client)
    observing = threading.Event()  # never set: its wait() paces the observation window
    with ProcessWatch(target, config, window / 10) as watch:
        # The window is the observation itself: sample while polling /health, as a scraper would.
        for _ in range(10):
            health(anon_client)
            observing.wait(window / 10)
    after = platform_metrics(target, config, anon_client)
    growth = {
        n: round((s.points[-1][2] - s.points[0][2]) / 2**20, 2)
        for n, s in watch.series.items()
        if len(s.points) > 1
    }
    if watch.missing is not None:
        rss = [m.per_instance("process_resident_memory_bytes") for m in (before, after)]
        if not rss[1] or incomparable(before, after):
            not_verified(
                f"{watch.missing}; and no process_resident_memory_bytes of the same processes "
                "in two reads of /metrics"
            )
        growth = {f"api {i}": round((v - rss[0].get(i, v)) / 2**20, 2) for i, v in rss[1].items()}
    disk_after = health(anon_client)["components"].get("disk", {}).get("free_bytes")
    disk_loss = None
    if disk_before is not None and disk_after is not None:
        disk_loss = round((disk_before - disk_after) / 2**20, 2)
    evidence.add(
        window_s=window,
        memory_source=watch.source if watch.missing is None else f"/metrics ({watch.missing})",
        memory_growth_mb=growth,
        memory_max_mb=post.memory_growth_max_mb,
        disk_loss_mb=disk_loss,
        disk_max_mb=post.disk_growth_max_mb,
    )
    grown = {n: g for n, g in growth.items() if g > post.memory_growth_max_mb}
    assert not grown, f"memory grew past {post.memory_growth_max_mb} MB: {grown}"
    assert disk_loss is None or disk_loss <= post.disk_growth_max_mb, (
        f"disk use grew {disk_loss} MB"
    )


@pytest.mark.since("0.2.0")
@pytest.mark.checklist("post24h.scheduled-jobs")
def test_scheduled_jobs_ran_within_period(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Each configured scheduled job is enabled, runs at least as often as the policy asks, last
    succeeded within its period and its last run did not fail; unreported jobs are listed."""
    post = config.postdeploy
    periods = post.scheduled_jobs_s
    started = time.monotonic()

    def first_runs_done() -> dict[str, Any] | None:
        body = health(anon_client)
        return None if schedules.awaiting_first_run(schedules.reported(body), periods) else body

    try:  # a target that just booted runs each job at once; give those first runs time to end
        body = poll_until(
            first_runs_done,
            timeout=post.scheduled_jobs_wait_s,
            interval=0.5,
            message="first runs of the scheduled jobs",
        )
    except PollTimeout:
        body = health(anon_client)  # judged as it is: a job that never finished fails below
    reported = schedules.reported(body)
    late = {
        name: found
        for name, policy in periods.items()
        if name in reported and (found := schedules.problems(reported[name], policy))
    }
    unreported = sorted(n for n in periods if n not in reported)
    evidence.add(
        schedules={n: schedules.summary(s) for n, s in reported.items()},
        periods_s=periods,
        unreported=unreported,
        problems=late,
        waited_s=round(time.monotonic() - started, 2),
    )
    details = "; ".join(f"{n}: {', '.join(found)}" for n, found in late.items())
    assert not late, f"scheduled jobs late, failed or off: {sorted(late)} ({details})"
    # A scheduler that lists its schedules without a required one does not run that job.
    assert not (unreported and reported), f"the target's scheduler does not run {unreported}"
    if unreported:
        not_verified(f"the target reports no scheduler component (schedules {unreported})")


@pytest.mark.checklist("post24h.monitoring")
def test_scraped_and_watchdog_reaches_alertmanager(
    target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Prometheus scrapes the target (up) and the always-firing watchdog is in Alertmanager; on
    the reference stack its notification also reached the stack's receiver."""
    post, timeout = config.postdeploy, config.http_timeout_s
    live = monitoring(target, config)
    urls = live.require()
    if urls is None:
        not_verified(live.missing)
    prometheus, alertmanager = urls
    up, scraped = wait_scraped_up(prometheus, target, config, post.monitoring_wait_s, timeout)
    selection = config.monitoring.model_dump()
    evidence.add(
        prometheus=prometheus,
        alertmanager=alertmanager,
        selected_by=selection,
        scrape_targets=scraped,
    )
    assert up, f"{selection} not scraped up by {prometheus} within {post.monitoring_wait_s} s"
    watchdog = firing_alerts(alertmanager, post.watchdog_alert, post.monitoring_wait_s, timeout)
    evidence.add(
        watchdog_alerts=len(watchdog),
        watchdog_updated=[str(parse_time(a.get("updatedAt"))) for a in watchdog],
    )
    assert watchdog, (
        f"no {post.watchdog_alert} alert in {alertmanager} within {post.monitoring_wait_s} s: "
        "Prometheus does not evaluate the rule or cannot reach Alertmanager"
    )
    if live.receiver_log is not None:
        notified = notified_receivers(
            live.receiver_log, post.watchdog_alert, post.monitoring_wait_s
        )
        evidence.add(watchdog_notified=notified)
        assert notified, f"Alertmanager sent no {post.watchdog_alert} notification to a receiver"
