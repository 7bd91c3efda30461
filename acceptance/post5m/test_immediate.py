"""Immediate Checks (within 5 minutes): everything runs the new version, is healthy, logs no
errors, serves traffic normally and reaches its external services.

"Since the deployment" is ``[postdeploy] deployed_at``, else the stack's start, else the phase's
look-back window. Counters on /metrics count since the process started, i.e. since the deployment.
"""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json, health
from acceptance.support.logs import LogSource, read_logs
from acceptance.support.monitoring import monitoring
from acceptance.support.observe import deployment_start, parse_time
from acceptance.support.platform_metrics import platform_metrics
from acceptance.support.procstat import service_pids, start_ticks
from acceptance.support.prometheus_series import PrometheusError, scraped_instances
from acceptance.support.shedding import shed_requests
from service.waiting import PollTimeout, poll_until

PHASE = "postdeploy_5m"
# Routes whose 5xx are induced on purpose by other checks (the diagnostics route raises).
INDUCED_ROUTES = ("/admin/diagnostics",)


def _processes_gone(target: Target, config: SuiteConfig) -> dict[str, object]:
    """The stack's processes that no longer run (/proc), else the platform's scrape targets that
    Prometheus finds down; {} with neither (the /health components still decide)."""
    if target.stack is not None:
        return {n: p for n, p in service_pids(target.stack).items() if start_ticks(p) is None}
    prometheus = monitoring(target, config).prometheus
    if prometheus is None:
        return {}
    try:
        return {n: "up == 0" for n, up in scraped_instances(prometheus, config).items() if up < 1}
    except PrometheusError:  # the suite's tool, not the target: /health still decides
        return {}


@pytest.mark.checklist("post5m.services-running")
def test_every_component_up_on_new_version(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """No component is down, enough workers are alive, and each runs the version /version says."""
    version = get_json(anon_client, "/version")["version"]
    body = health(anon_client)
    components = body["components"]
    workers = components.get("workers", {})
    versions = {w["id"]: w.get("version") for w in workers.get("workers", []) if not w.get("stale")}
    gone = _processes_gone(target, config)
    evidence.add(
        version=version,
        api_version=body.get("version"),
        worker_versions=versions,
        components={n: c.get("status") for n, c in components.items()},
        processes_gone=gone,
    )
    down = [n for n, c in components.items() if c.get("status") == "down"]
    assert not down, f"components down: {down}"
    assert not gone, f"stack processes not running: {gone}"
    assert len(versions) >= max(config.workers_min, 1), f"workers alive: {sorted(versions)}"
    stale = {w: v for w, v in {"api": body.get("version"), **versions}.items() if v != version}
    assert not stale, f"components not on {version}: {stale}"


@pytest.mark.checklist("post5m.health")
def test_health_ok_across_components(anon_client: httpx.Client, evidence: Evidence) -> None:
    """/health says ok, and so does every component in it."""
    body = health(anon_client)
    statuses = {n: c.get("status") for n, c in body["components"].items()}
    evidence.add(status=body.get("status"), components=statuses)
    bad = {n: s for n, s in statuses.items() if s != "ok"}
    assert body.get("status") == "ok" and not bad, f"not healthy: {body.get('status')}, {bad}"


@pytest.mark.checklist("post5m.no-errors")
def test_no_error_records_since_deployment(
    log_source: LogSource, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """The application and worker logs hold no ERROR/CRITICAL record since the deployment."""
    since = deployment_start(config, target, PHASE)
    ignored = set(config.observability.ignored_error_types)
    found = [
        r
        for r in read_logs(log_source, since, streams=["app", "worker"]).records
        if r.get("level") in ("ERROR", "CRITICAL") and r.get("exc_type") not in ignored
    ]
    evidence.add(
        since=since.isoformat(),
        log_source=log_source.describe(),
        errors=len(found),
        ignored_types=sorted(ignored),
        first=[
            {k: r.get(k) for k in ("ts", "_source", "logger", "message", "exc_type")}
            for r in found[:5]
        ],
    )
    assert not found, f"{len(found)} error records since {since.isoformat()}"


@pytest.mark.checklist("post5m.metrics-normal")
def test_metrics_show_normal_operation(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Requests are flowing, the 5xx ratio is within budget, queue depths within their bands
    (requests and errors summed over the platform's processes)."""
    read = platform_metrics(target, config, anon_client)
    samples = read.samples
    by_route = [s for s in samples if s.name == "platform_http_requests_total"]
    served = [s for s in by_route if s.labels.get("route") != "/metrics"]
    counted = [s for s in served if not s.labels.get("route", "").startswith(INDUCED_ROUTES)]
    traffic = sum(s.value for s in counted)
    shed = shed_requests(samples, excluded=INDUCED_ROUTES)
    errors = sum(s.value for s in counted if s.labels.get("status", "").startswith("5")) - shed
    ratio = errors / traffic if traffic else 0.0
    depths = health(anon_client)["components"]["queues"].get("depths") or {}
    bands = config.queue_depth_max
    evidence.add(
        requests=traffic,
        errors_5xx=errors,
        shed_503=shed,
        error_ratio=round(ratio, 5),
        error_ratio_max=config.postdeploy.error_ratio_max,
        depths=depths,
        bands=bands,
        **read.evidence(),
    )
    assert traffic >= config.postdeploy.min_requests, f"no traffic: {traffic} requests served"
    assert ratio <= config.postdeploy.error_ratio_max, f"5xx ratio {ratio:.4f} over budget"
    over = {q: d for q, d in depths.items() if d > bands.get(q, d)}
    assert not over, f"queue depths outside their band: {over}"


def external_state(body: dict[str, object], names: list[str]) -> dict[str, object]:
    """The /health components of external connections that the target reports."""
    components = body.get("components")
    assert isinstance(components, dict)
    return {n: components[n] for n in names if n in components}


@pytest.mark.checklist("post5m.external-connectivity")
def test_external_services_reachable_since_deployment(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Each provider answered its last probe after the deployment; ingestion reached its source."""
    since = deployment_start(config, target, PHASE)
    found = external_state(health(anon_client), config.postdeploy.external_components)
    if not found:
        not_verified(f"/health reports none of {config.postdeploy.external_components}")
    problems: dict[str, str] = {}
    providers = found.get("providers")
    if isinstance(providers, dict):
        for name, p in (providers.get("providers") or {}).items():
            probed = parse_time(p.get("last_probe_at"))
            if p.get("status") != "up" or not p.get("last_probe_ok"):
                problems[name] = f"status {p.get('status')}, last error {p.get('last_error')}"
            elif probed is None or probed < since:
                problems[name] = f"not probed since the deployment (last {probed})"

    def ingestion_reached() -> dict[str, object] | None:
        state = health(anon_client)["components"].get("ingestion") or {}
        return state if parse_time(state.get("last_request_at")) or not state else None

    if "ingestion" in found:
        try:
            found["ingestion"] = poll_until(
                ingestion_reached,
                timeout=config.postdeploy.sample_s.get(PHASE, 1.0) + 5,
                interval=0.25,
                message="ingestion to reach its source",
            )
        except PollTimeout:
            problems["ingestion"] = "no request to the ingestion source since the deployment"
    evidence.add(since=since.isoformat(), components=found, problems=problems)
    assert not problems, f"external services not reachable: {problems}"
