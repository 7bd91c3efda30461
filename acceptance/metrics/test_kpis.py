"""Metrics Collection: the KPIs move with traffic, queue metrics exist and agree with /health."""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import enqueue, health, wait_job
from acceptance.support.promtext import Sample, scrape, total, values_by
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
LLM_KPIS = {
    "ttft_observations": "platform_llm_ttft_seconds_count",
    "output_tokens": "platform_llm_output_tokens_total",
}


def _kpi_values(samples: list[Sample], kpis: dict[str, str]) -> dict[str, float | None]:
    values = {name: total(samples, sample) for name, sample in kpis.items()}
    if "jobs_succeeded" in kpis:
        values["jobs_succeeded"] = total(samples, kpis["jobs_succeeded"], outcome="succeeded")
    return values


@pytest.mark.checklist("metrics.kpis")
def test_kpis_move_with_traffic(
    anon_client: httpx.Client, client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Request, latency and job KPIs (TTFT and tokens with a gateway) grow with traffic."""
    model = first_model(client)
    kpis = {**KPIS, **(LLM_KPIS if model else {})}
    before = _kpi_values(scrape(anon_client), kpis)
    job_id = enqueue(client)["job_id"]
    chat_status = stream_chat(client, model).status_code if model else None
    wait_job(client, job_id, timeout=config.job_wait_timeout_s)

    def moved() -> dict[str, float | None] | None:
        now = _kpi_values(scrape(anon_client), kpis)
        grown = all((now[k] or 0) > (before[k] or 0) for k in kpis)
        return now if grown else None

    try:
        after = poll_until(moved, timeout=5.0, interval=0.2, message="every KPI to move")
    except AssertionError:
        after = _kpi_values(scrape(anon_client), kpis)
    evidence.add(before=before, after=after, chat_model=model, chat_status=chat_status)
    missing = [k for k in kpis if after[k] is None]
    assert not missing, f"KPIs not exposed: {[kpis[k] for k in missing]}"
    still = [k for k in kpis if (after[k] or 0) <= (before[k] or 0)]
    assert not still, f"KPIs did not move with traffic: {still}"


def _depths(samples: list[Sample]) -> dict[str, float]:
    return values_by(samples, QUEUE_DEPTH, "queue")


@pytest.mark.checklist("metrics.queue")
def test_queue_metrics_match_health(
    anon_client: httpx.Client, client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Depth gauges per queue (dead letters too) and job histograms exist and match /health."""
    wait_job(client, enqueue(client)["job_id"], timeout=config.job_wait_timeout_s)
    samples = scrape(anon_client)
    histograms = {h: sum(1 for s in samples if s.name == f"{h}_count") for h in QUEUE_HISTOGRAMS}
    reported = health(anon_client)["components"]["queues"].get("depths") or {}

    def agree() -> tuple[dict[str, float], dict[str, int]] | None:
        metric = _depths(scrape(anon_client))
        live = health(anon_client)["components"]["queues"].get("depths") or {}
        same = bool(live) and all(metric.get(q) == float(d) for q, d in live.items())
        return (metric, live) if same else None

    try:
        metric, live = poll_until(agree, timeout=5.0, interval=0.1, message="depths to agree")
    except AssertionError:
        metric, live = _depths(scrape(anon_client)), reported
    evidence.add(metric_depths=metric, health_depths=live, histogram_series=histograms)
    missing = [q for q in ("hot", "backfill", "retry", "dead") if q not in metric]
    assert not missing, f"no {QUEUE_DEPTH} gauge for {missing}"
    assert all(histograms.values()), f"processing histograms missing: {histograms}"
    differ = {q: (metric.get(q), d) for q, d in live.items() if metric.get(q) != float(d)}
    assert not differ, f"metric and /health depths differ (metric, health): {differ}"
