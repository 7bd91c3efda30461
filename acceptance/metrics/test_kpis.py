"""Metrics Collection: the KPIs move with traffic, queue metrics exist and agree with /health.

Counters are read from every process of the platform (``platform_metrics``): a process's own
(requests, latency, TTFT, tokens) summed, what every process reads from the shared Redis (jobs,
queue depths) once.
"""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.api import enqueue, health, wait_job
from acceptance.support.platform_metrics import PlatformMetrics, assert_comparable, platform_metrics
from acceptance.support.promtext import Sample, total, values_by
from acceptance.support.providers import first_model, stream_chat
from service.waiting import poll_until

QUEUE_DEPTH = "platform_queue_depth"
QUEUE_HISTOGRAMS = ("platform_job_duration_seconds", "platform_job_wait_seconds")
# KPI -> sample whose total must grow when the check sends traffic.
KPIS = {
    "requests": "platform_http_requests_total",
    "latency_observations": "platform_http_request_duration_seconds_count",
    "jobs_succeeded": "platform_jobs_total",
    "job_duration_observations": "platform_job_duration_seconds_count",
}
# Counted once in the shared Redis and exported alike by every process.
SHARED_KPIS = frozenset({"jobs_succeeded", "job_duration_observations"})
LLM_KPIS = {
    "ttft_observations": "platform_llm_ttft_seconds_count",
    "output_tokens": "platform_llm_output_tokens_total",
}


def _kpi_values(read: PlatformMetrics, kpis: dict[str, str]) -> dict[str, float | None]:
    shared = read.shared()

    def of(name: str) -> list[Sample]:
        return shared if name in SHARED_KPIS else read.samples

    values = {name: total(of(name), sample) for name, sample in kpis.items()}
    if "jobs_succeeded" in kpis:
        values["jobs_succeeded"] = total(shared, kpis["jobs_succeeded"], outcome="succeeded")
    return values


@pytest.mark.checklist("metrics.kpis")
def test_kpis_move_with_traffic(
    anon_client: httpx.Client,
    client: httpx.Client,
    target: Target,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Request, latency and job KPIs (TTFT and tokens with a gateway) grow with traffic."""
    model = first_model(client)
    kpis = {**KPIS, **(LLM_KPIS if model else {})}
    first = platform_metrics(target, config, anon_client)
    before = _kpi_values(first, kpis)
    last = first
    job_id = enqueue(client)["job_id"]
    chat_status = stream_chat(client, model).status_code if model else None
    wait_job(client, job_id, timeout=config.job_wait_timeout_s)

    def moved() -> dict[str, float | None] | None:
        nonlocal last
        last = platform_metrics(target, config, anon_client)
        now = _kpi_values(last, kpis)
        grown = all((now[k] or 0) > (before[k] or 0) for k in kpis)
        return now if grown else None

    try:
        after = poll_until(moved, timeout=5.0, interval=0.2, message="every KPI to move")
    except AssertionError:
        after = _kpi_values(last, kpis)
    evidence.add(
        before=before, after=after, chat_model=model, chat_status=chat_status, **last.evidence()
    )
    missing = [k for k in kpis if after[k] is None]
    assert not missing, f"KPIs not exposed: {[kpis[k] for k in missing]}"
    assert_comparable(first, last)
    still = [k for k in kpis if (after[k] or 0) <= (before[k] or 0)]
    assert not still, f"KPIs did not move with traffic: {still}"


def _depths(target: Target, config: SuiteConfig, client: httpx.Client) -> dict[str, float]:
    """The depth gauges: the queues are shared, so every process exports the same depths."""
    return values_by(platform_metrics(target, config, client).shared(), QUEUE_DEPTH, "queue")


@pytest.mark.checklist("metrics.queue")
def test_queue_metrics_match_health(
    anon_client: httpx.Client,
    client: httpx.Client,
    target: Target,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Depth gauges per queue (dead letters too) and job histograms exist and match /health;
    the job the check runs is counted in the histograms under its own kind and queue."""
    before = platform_metrics(target, config, anon_client).shared()
    wait_job(client, enqueue(client, queue="hot")["job_id"], timeout=config.job_wait_timeout_s)
    read = platform_metrics(target, config, anon_client)
    shared = read.shared()
    histograms = {h: sum(1 for s in shared if s.name == f"{h}_count") for h in QUEUE_HISTOGRAMS}
    labelled = {
        "platform_job_duration_seconds_count": {"kind": "noop", "queue": "hot"},
        "platform_job_wait_seconds_count": {"queue": "hot"},
    }
    counted = {
        name: (total(shared, name, **match) or 0.0) - (total(before, name, **match) or 0.0)
        for name, match in labelled.items()
    }
    reported = health(anon_client)["components"]["queues"].get("depths") or {}

    def agree() -> tuple[dict[str, float], dict[str, int]] | None:
        metric = _depths(target, config, anon_client)
        live = health(anon_client)["components"]["queues"].get("depths") or {}
        same = bool(live) and all(metric.get(q) == float(d) for q, d in live.items())
        return (metric, live) if same else None

    try:
        metric, live = poll_until(agree, timeout=5.0, interval=0.1, message="depths to agree")
    except AssertionError:
        metric, live = _depths(target, config, anon_client), reported
    evidence.add(
        metric_depths=metric,
        health_depths=live,
        histogram_series=histograms,
        job_counted=counted,
        **read.evidence(),
    )
    missing = [q for q in ("hot", "backfill", "retry", "dead") if q not in metric]
    assert not missing, f"no {QUEUE_DEPTH} gauge for {missing}"
    assert all(histograms.values()), f"processing histograms missing: {histograms}"
    uncounted = {name: labelled[name] for name, delta in counted.items() if delta < 1}
    assert not uncounted, f"the check's noop job is not counted under its labels: {uncounted}"
    differ = {q: (metric.get(q), d) for q, d in live.items() if metric.get(q) != float(d)}
    assert not differ, f"metric and /health depths differ (metric, health): {differ}"
