"""System Health: the service answers its health routes and its components are within bounds."""

from __future__ import annotations

import time

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json, health


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
    workers = health(anon_client)["components"]["workers"]
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
