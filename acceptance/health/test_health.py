"""System Health: the service answers its health routes and its components are within bounds."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json, health
from acceptance.support.platform_metrics import PlatformMetrics, platform_metrics
from acceptance.support.promtext import total, values_by
from service.waiting import poll_until


def _workers(client: httpx.Client) -> dict[str, Any]:
    """/health's workers component: the alive count, the heartbeat interval, each worker."""
    workers: dict[str, Any] = health(client)["components"]["workers"]
    return workers


def _health_routes(client: httpx.Client) -> list[str]:
    """Every GET route under /health the OpenAPI document lists: the service documents them."""
    paths = get_json(client, "/openapi.json").get("paths", {})
    routes = sorted(p for p, ops in paths.items() if p.startswith("/health") and "get" in ops)
    assert "/health" in routes, f"/health is not documented in the OpenAPI document: {routes}"
    return routes


@pytest.mark.checklist("health.endpoints-ok")
def test_health_routes_answer_200_within_deadline(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Each documented health route answers 200 with a JSON object before the deadline."""
    latency_ms: dict[str, float] = {}
    problems: list[str] = []
    for route in _health_routes(anon_client):
        started = time.perf_counter()
        response = anon_client.get(route, timeout=config.health_deadline_s)
        elapsed = time.perf_counter() - started
        latency_ms[route] = round(elapsed * 1000, 1)
        if response.status_code != 200:
            problems.append(f"{route}: HTTP {response.status_code}")
        elif not isinstance(response.json(), dict):
            problems.append(f"{route}: body is not a JSON object")
        if elapsed > config.health_deadline_s:
            problems.append(f"{route}: {elapsed:.2f}s > deadline {config.health_deadline_s}s")
    evidence.add(routes=sorted(latency_ms), latency_ms=latency_ms)
    assert not problems, "; ".join(problems)


@pytest.mark.checklist("health.queue-depths")
def test_queue_depths_under_thresholds(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Hot, backfill, retry and dead-letter depths are below the configured thresholds."""
    depths = health(anon_client)["components"]["queues"]["depths"]
    limits = config.queue_depth_max
    evidence.add(depths=depths, thresholds=limits)
    missing = sorted(set(limits) - set(depths))
    assert not missing, f"health payload lacks depths for {missing}"
    over = {q: depths[q] for q in limits if depths[q] > limits[q]}
    assert not over, f"backlog over threshold: {over} (thresholds {limits})"


@pytest.mark.checklist("health.workers")
def test_workers_alive_with_fresh_heartbeats(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Enough workers are alive and no heartbeat is older than allowed (2x its interval)."""
    workers = _workers(anon_client)
    interval = float(workers["heartbeat_interval_s"])
    max_age = config.heartbeat_max_age_factor * interval
    ages = {w["id"]: w["age_s"] for w in workers["workers"]}
    evidence.add(
        alive=workers["alive"],
        required=config.workers_min,
        heartbeat_ages_s=ages,
        max_age_s=max_age,
    )
    assert workers["alive"] >= config.workers_min, (
        f"{workers['alive']} workers alive, at least {config.workers_min} required"
    )
    stale = {w: a for w, a in ages.items() if a > max_age}
    assert not stale, f"stale heartbeats (> {max_age:.1f}s): {stale}"


@pytest.mark.checklist("health.workers")
def test_admin_workers_list_matches_health(
    anon_client: httpx.Client, admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """The operators' list of workers (``GET /admin/workers``) answers, in its documented shape,
    with the workers ``/health`` counts alive: the box covers both surfaces, and a release that
    breaks the admin list leaves the operator blind while /health still looks fine."""
    interval = float(_workers(anon_client)["heartbeat_interval_s"])

    def same_workers() -> tuple[list[Any]] | None:
        response = admin_client.get("/admin/workers")
        if response.status_code == 404:
            not_verified("the target has no operators' worker list (/admin/workers)")
        assert response.status_code == 200, (
            f"/admin/workers: {response.status_code} {response.text[:300]}"
        )
        listed = response.json().get("workers")
        assert isinstance(listed, list), f"/admin/workers without a workers list: {listed!r}"
        alive = {w["id"] for w in _workers(anon_client)["workers"]}
        # A worker can start or stop between the two reads; a heartbeat interval settles it.
        return (listed,) if alive == {w.get("id") for w in listed} else None

    (listed,) = poll_until(
        same_workers,
        timeout=config.heartbeat_max_age_factor * interval + 1.0,
        interval=0.5,
        message="/admin/workers to list the workers /health counts alive",
    )
    evidence.add(admin_workers=listed)
    for worker in listed:
        bad = {
            field: worker.get(field)
            for field in ("pid", "schema_version", "jobs_done")
            if not (isinstance(worker.get(field), int) and worker[field] >= 0)
        }
        assert not bad, f"worker {worker.get('id')}: fields missing or not counts: {bad}"
        assert worker.get("version"), f"worker {worker.get('id')}: no version"


@pytest.mark.since("0.2.0")
@pytest.mark.checklist("health.workers")
def test_worker_figures_exported_per_live_worker(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Workers have no port to scrape, so the API exports their process figures from their
    heartbeats: ``platform_workers_alive`` equals the live workers /health counts, and each of
    them has its memory, CPU and start time on /metrics (what an operator's Prometheus and the
    resource checks of a deployment read)."""
    interval = float(_workers(anon_client)["heartbeat_interval_s"])
    names = (
        "platform_worker_resident_memory_bytes",
        "platform_worker_cpu_seconds_total",
        "platform_worker_start_time_seconds",
    )

    def exported() -> tuple[dict[str, Any], PlatformMetrics] | None:
        read = platform_metrics(target, config, anon_client)
        shared = read.shared()
        alive = {w["id"] for w in _workers(anon_client)["workers"]}
        per_worker = {n: set(values_by(shared, n, "worker")) for n in names}
        alive_metric = total(shared, "platform_workers_alive")
        seen = {
            "alive_metric": alive_metric,
            "alive_health": len(alive),
            **{n: sorted(ids) for n, ids in per_worker.items()},
        }
        same = alive_metric == len(alive) and all(ids == alive for ids in per_worker.values())
        return (seen, read) if same else None

    # Through Prometheus a worker that just started or stopped shows after the next scrape.
    source = platform_metrics(target, config, anon_client).source
    slack = config.monitoring.sample_wait_s if source.startswith("prometheus") else 1.0
    try:
        seen, read = poll_until(
            exported,
            timeout=config.heartbeat_max_age_factor * interval + slack,
            interval=0.5,
            message="the live workers' figures on /metrics",
        )
    except AssertionError as exc:
        evidence.add(last=str(exc)[-500:])
        raise AssertionError(
            f"/metrics does not export the live workers' figures ({', '.join(names)},"
            " platform_workers_alive) as /health lists them"
        ) from exc
    evidence.add(**seen, **read.evidence())


@pytest.mark.checklist("health.database")
def test_datastore_round_trips_stable(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Repeated probes over a short window: no failed datastore round trip, latency bounded."""
    failures: list[str] = []
    latencies: list[float] = []
    for _ in range(config.database_probes):
        components = health(anon_client)["components"]
        redis = components["redis"]
        if redis["status"] != "ok":
            failures.append(f"redis {redis['status']}: {redis.get('error', '')}")
        else:
            latencies.append(float(redis["latency_ms"]))
    worst = max(latencies, default=None)
    evidence.add(
        probes=config.database_probes,
        failures=len(failures),
        max_latency_ms=worst,
        limit_ms=config.database_max_latency_ms,
    )
    assert not failures, f"{len(failures)} failed round trips: {failures[:3]}"
    assert worst is not None and worst <= config.database_max_latency_ms, (
        f"datastore latency {worst} ms over {config.database_max_latency_ms} ms"
    )
