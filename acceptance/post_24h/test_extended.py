"""Extended Monitoring (within 24 hours): stability, resource usage, scheduled jobs, monitoring.

Restarts are read from the stack (its supervisor's counters, process start times) and from the
API's ``process_start_time_seconds``; scheduled jobs from /health (ingestion polls, document
backups); monitoring from the Prometheus and Alertmanager APIs when ``[postdeploy]`` names them.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from acceptance import promtext
from acceptance.api import health
from acceptance.config import SuiteConfig
from acceptance.fixtures import Evidence
from acceptance.observe import deployment_start, endpoint_latencies, parse_time
from acceptance.procstat import Sampler, service_pids
from acceptance.shedding import shed_requests
from acceptance.target import Target
from acceptance.verdicts import not_verified
from load.stats import percentile

PHASE = "postdeploy_24h"


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
    samples = promtext.scrape(anon_client)
    api_start = promtext.total(samples, "process_start_time_seconds")
    restarts = dict(target.stack.restarts) if target.stack is not None else {}
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
    # The API may start a little after the deployment began (boot), never long after.
    late = api_start is not None and api_start > since.timestamp() + 120
    evidence.add(
        since=since.isoformat(),
        restarts=restarts,
        api_started=api_start,
        health_p95_ms=p95,
        slo_ms=config.slo.endpoint_p95_ms.get("health"),
        error_ratio=round(ratio, 5),
        shed_503=shed,
    )
    restarted = {n: c for n, c in restarts.items() if c}
    assert not restarted, f"processes restarted: {restarted}"
    if late and config.postdeploy.deployed_at is None and target.stack is None:
        # Without the deployment time a process start inside the window may be the deployment
        # itself; calling it a restart would be a guess either way.
        not_verified("API started inside the window and the deployment time is unknown "
                     "(set [postdeploy] deployed_at)")
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
    pids = service_pids(target.stack) if target.stack is not None else {}
    before = promtext.scrape(anon_client)
    observing = threading.Event()  # never set: its wait() paces the observation window
    with Sampler(pids, window / 10) as sampler:
        # The window is the observation itself: sample while polling /health, as a scraper would.
        for _ in range(10):
            health(anon_client)
            observing.wait(window / 10)
    after = promtext.scrape(anon_client)
    growth = {
        n: round((s.points[-1][2] - s.points[0][2]) / 2**20, 2)
        for n, s in sampler.series.items()
        if len(s.points) > 1
    }
    if not pids:
        rss = [promtext.total(m, "process_resident_memory_bytes") for m in (before, after)]
        if rss[0] is None or rss[1] is None:
            not_verified("no stack pids and no process_resident_memory_bytes in /metrics")
        growth = {"api": round((rss[1] - rss[0]) / 2**20, 2)}
    disk_after = health(anon_client)["components"].get("disk", {}).get("free_bytes")
    disk_loss = None
    if disk_before is not None and disk_after is not None:
        disk_loss = round((disk_before - disk_after) / 2**20, 2)
    evidence.add(
        window_s=window,
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


def _last_runs(components: dict[str, dict[str, object]]) -> dict[str, tuple[float | None, bool]]:
    """Age (s) and success of the last run of each scheduled job /health reports."""
    runs: dict[str, tuple[float | None, bool]] = {}
    ingestion, documents = components.get("ingestion"), components.get("documents")
    if ingestion and "last_poll_success_at" in ingestion:
        age = ingestion.get("last_poll_age_s")
        runs["arxiv_poll"] = (
            float(age) if isinstance(age, (int, float)) else None,
            age is not None,
        )
    if documents and "last_backup_age_s" in documents:
        age = documents.get("last_backup_age_s")
        ok = bool(documents.get("last_backup_ok"))
        runs["backup"] = (float(age) if isinstance(age, (int, float)) else None, ok)
    return runs


@pytest.mark.checklist("post24h.scheduled-jobs")
def test_scheduled_jobs_ran_within_period(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Each scheduled job last ran within its period and succeeded; unreported jobs are listed."""
    runs = _last_runs(health(anon_client)["components"])
    periods = config.postdeploy.scheduled_jobs_s
    late = {}
    for name, (age, ok) in runs.items():
        if name in periods and (not ok or age is None or age > periods[name]):
            late[name] = {"age_s": age, "ok": ok, "period_s": periods[name]}
    unreported = sorted(n for n in periods if n not in runs)
    evidence.add(
        last_runs={n: {"age_s": a, "ok": ok} for n, (a, ok) in runs.items()},
        periods_s=periods,
        unreported=unreported,
    )
    assert not late, f"scheduled jobs late or failed: {late}"
    if unreported:
        not_verified(f"the target reports no last run of {unreported}")


@pytest.mark.checklist("post24h.monitoring")
def test_scraped_and_watchdog_reaches_alertmanager(
    target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Prometheus scrapes the target (up) and the always-firing watchdog is in Alertmanager."""
    post = config.postdeploy
    if not post.prometheus_url or not post.alertmanager_url:
        not_verified(
            "no Prometheus/Alertmanager URL ([postdeploy] prometheus_url, alertmanager_url)"
        )
    host = target.url.split("://", 1)[-1]
    with httpx.Client(timeout=config.http_timeout_s) as http:
        targets = http.get(f"{post.prometheus_url.rstrip('/')}/api/v1/targets").json()
        active = targets.get("data", {}).get("activeTargets", [])
        ours = [t for t in active if host in str(t.get("scrapeUrl", ""))]
        alerts = http.get(
            f"{post.alertmanager_url.rstrip('/')}/api/v2/alerts",
            params={"filter": f'alertname="{post.watchdog_alert}"'},
        ).json()
    watchdog = [a for a in alerts if a.get("labels", {}).get("alertname") == post.watchdog_alert]
    evidence.add(
        scrape_targets=[{k: t.get(k) for k in ("scrapeUrl", "health", "lastScrape")} for t in ours],
        watchdog_alerts=len(watchdog),
    )
    assert ours and all(t.get("health") == "up" for t in ours), f"target not scraped up: {ours}"
    assert watchdog, f"no {post.watchdog_alert} alert in Alertmanager"
    seen = [parse_time(a.get("updatedAt")) for a in watchdog]
    evidence.add(watchdog_updated=[str(s) for s in seen])
