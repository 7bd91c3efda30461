"""Metrics Collection: /metrics is valid Prometheus text, errors and outbound calls are counted."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.monitoring import monitoring, wait_scraped_up
from acceptance.support.platform_metrics import assert_comparable, platform_metrics
from acceptance.support.promtext import Sample, total
from acceptance.support.providers import first_model, stream_chat

REQUESTS = "platform_http_requests_total"
DURATION = "platform_http_request_duration_seconds"
OUTBOUND = "platform_outbound_requests_total"
UPSTREAM = "platform_llm_upstream_latency_seconds_count"
UNMATCHED_PATH = "/preflight-no-such-route"


@pytest.mark.checklist("metrics.prometheus")
def test_metrics_parse_as_prometheus(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """/metrics is Prometheus text that the reference parser reads; a given Prometheus has it up."""
    response = anon_client.get("/metrics")
    assert response.status_code == 200, f"GET /metrics: {response.status_code}"
    content_type = response.headers.get("content-type", "")
    try:
        families = list(text_string_to_metric_families(response.text))
    except ValueError as error:
        pytest.fail(f"/metrics is not Prometheus text exposition: {error}")
    samples = sum(len(f.samples) for f in families)
    evidence.add(
        content_type=content_type,
        families=len(families),
        samples=samples,
        platform_families=sorted(f.name for f in families if f.name.startswith("platform_")),
    )
    assert content_type.startswith("text/plain"), f"content type {content_type!r}"
    assert families and samples, "/metrics holds no metric"
    prometheus = monitoring(target, config).prometheus
    if prometheus is None:
        evidence.add(prometheus="no Prometheus server given: scraping not verified there")
        return
    wait_s = config.postdeploy.monitoring_wait_s
    up, scraped = wait_scraped_up(prometheus, target, config, wait_s, config.http_timeout_s)
    selection = config.monitoring.model_dump()
    evidence.add(prometheus=prometheus, selected_by=selection, scrape_targets=scraped)
    assert up, (
        f"the platform {selection} is not scraped up by {prometheus} within {wait_s} s: {scraped}"
    )


def _delta(before: list[Sample], after: list[Sample], name: str, **match: str) -> float:
    return (total(after, name, **match) or 0.0) - (total(before, name, **match) or 0.0)


@pytest.mark.checklist("metrics.errors-latency")
def test_errors_and_latency_per_route_and_status(
    anon_client: httpx.Client,
    client: httpx.Client,
    target: Target,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """A 404 and a 422 sent by the check are counted by route and status, with latency (by
    whichever process served them: the counters are read from every process)."""
    read_before = platform_metrics(target, config, anon_client)
    not_found = anon_client.get(UNMATCHED_PATH)
    invalid = client.post("/enqueue", json={"kind": "no-such-kind"})
    read_after = platform_metrics(target, config, anon_client)
    before, after = read_before.samples, read_after.samples
    moved = {
        "404": _delta(before, after, REQUESTS, status="404"),
        "422 /enqueue": _delta(before, after, REQUESTS, route="/enqueue", status="422"),
        "latency count POST /enqueue": _delta(
            before, after, f"{DURATION}_count", route="/enqueue", method="POST"
        ),
    }
    buckets = [s for s in after if s.name == f"{DURATION}_bucket" and s.labels.get("route")]
    statuses = sorted({s.labels.get("status", "") for s in after if s.name == REQUESTS})
    evidence.add(
        answers=[not_found.status_code, invalid.status_code],
        moved=moved,
        statuses_seen=statuses,
        latency_bucket_series=len(buckets),
        **read_after.evidence(),
    )
    assert (not_found.status_code, invalid.status_code) == (404, 422), "probe requests misfired"
    assert_comparable(read_before, read_after)
    stuck = {what: d for what, d in moved.items() if d < 1}
    assert not stuck, f"not counted: {stuck} ({REQUESTS} / {DURATION} by route and status)"
    assert buckets, f"no {DURATION} histogram buckets per route"


def _per_label(samples: list[Sample], name: str, where: str) -> dict[str, dict[str, float]]:
    """``{destination: {outcome: count}}`` of one counter family, summed over processes."""
    out: dict[str, dict[str, float]] = {}
    for s in samples:
        if s.name == name:
            counts = out.setdefault(s.labels.get(where, "?"), {})
            outcome = s.labels.get("outcome", "?")
            counts[outcome] = counts.get(outcome, 0.0) + s.value
    return out


@pytest.mark.checklist("metrics.external-api")
def test_outbound_calls_counted_per_destination(
    anon_client: httpx.Client,
    client: httpx.Client,
    target: Target,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Outbound calls (general client, gateway provider calls) counted per destination + outcome."""
    model = first_model(client)
    chat_status = stream_chat(client, model).status_code if model else None
    read = platform_metrics(target, config, anon_client)
    samples = read.samples
    outbound = _per_label(samples, OUTBOUND, "destination")
    provider_calls = _per_label(samples, UPSTREAM, "provider")
    evidence.add(
        outbound=outbound, provider_calls=provider_calls, chat_status=chat_status, **read.evidence()
    )
    if not outbound and not provider_calls:
        if chat_status == 200 and read.caveat:  # another process may have served the chat
            not_verified(f"no outbound call counts in the process that answered: {read.caveat}")
        # A chat answered by a provider is an outbound call the target made: it must count it.
        assert chat_status != 200, f"a chat was served, yet neither {OUTBOUND} nor {UPSTREAM}"
        not_verified(f"the target exposes no outbound call counts ({OUTBOUND}, {UPSTREAM})")
    unlabelled = [
        s.labels
        for s in samples
        if (s.name == OUTBOUND and not {"destination", "outcome"} <= set(s.labels))
        or (s.name == UPSTREAM and not {"provider", "outcome"} <= set(s.labels))
    ]
    assert not unlabelled, f"outbound series without destination/outcome: {unlabelled}"
