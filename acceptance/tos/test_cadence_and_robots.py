"""Terms of Service: arXiv's cadence and backoff, external rate limits, robots.txt.

What the sites received is read from a ``RequestRecord`` (the reference stack's emulators' logs,
else the platform's own record, ``GET /admin/outbound/requests``); the 503 and 429 are caused by
the run's fault hooks (``[faults] arxiv_down`` / ``site_down``, else the emulators' fault route).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.api import admin_settings
from acceptance.support.faults import arxiv_fault, site_fault
from acceptance.support.ingestion import ARXIV_QUERY_PATH, gaps, requests_of, wait_job
from acceptance.support.outbound_record import arxiv_record, robots_site
from service.waiting import poll_until


@pytest.mark.destructive
@pytest.mark.checklist("tos.arxiv-cadence")
def test_arxiv_delay_and_backoff(
    target: Target, admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """The configured delay is >= 3 s and shared by all processes; after a 503 with Retry-After
    the next arXiv request comes no sooner than Retry-After (the emulator's log)."""
    cfg = config.ingestion
    settings = admin_settings(admin_client)
    record = arxiv_record(target, config, admin_client)
    interval, shared = settings.get("arxiv_min_interval_s"), settings.get("arxiv_rate_state")
    evidence.add(arxiv_min_interval_s=interval, arxiv_rate_state=shared, source=record.what)
    assert interval is not None and interval >= cfg.arxiv_min_interval_s, (
        f"configured arXiv delay {interval} s < {cfg.arxiv_min_interval_s} s"
    )
    assert shared == "redis", f"arxiv_rate_state={shared!r}: the delay is kept per process only"
    fault = arxiv_fault(target, config, status=503, retry_after_s=cfg.arxiv_retry_after_s, count=1)
    evidence.add(fault_hook=fault.describe())
    started = time.time()
    fault.cause()
    try:

        def after_fault() -> list[dict[str, Any]] | None:
            recent = requests_of(record, ARXIV_QUERY_PATH, since=started)
            failed = [i for i, r in enumerate(recent) if r["status"] == 503]
            return recent if failed and len(recent) > failed[0] + 1 else None

        recent = poll_until(
            after_fault,
            timeout=cfg.arxiv_retry_after_s + cfg.arxiv_cadence_timeout_s,
            interval=0.2,
            message="a 503 and the request after it",
        )
    finally:
        fault.clear()
    index = next(i for i, r in enumerate(recent) if r["status"] == 503)
    backoff = recent[index + 1]["time"] - recent[index]["time"]
    spacing = gaps(requests_of(record, ARXIV_QUERY_PATH))
    evidence.add(
        retry_after_s=cfg.arxiv_retry_after_s,
        observed_backoff_s=round(backoff, 3),
        min_gap_s=round(min(spacing), 3) if spacing else None,
    )
    assert backoff >= cfg.arxiv_retry_after_s - config.timing_slack_s, (
        f"next arXiv request {backoff:.2f} s after a 503 with Retry-After {cfg.arxiv_retry_after_s}"
    )
    assert not spacing or min(spacing) >= cfg.arxiv_min_interval_s, (
        f"arXiv requests {min(spacing):.3f} s apart"
    )


def _enqueue(admin_client: httpx.Client, url: str) -> str:
    response = admin_client.post("/admin/ingest/fetch", json={"url": url})
    assert response.status_code == 202, f"fetch {url}: {response.status_code} {response.text}"
    job_id: str = response.json()["job_id"]
    return job_id


def _fetch(admin_client: httpx.Client, url: str, timeout: float) -> dict[str, Any]:
    return wait_job(admin_client, _enqueue(admin_client, url), timeout)


@pytest.mark.checklist("tos.robots")
def test_disallowed_pages_never_fetched(
    target: Target, admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """A page robots.txt disallows is never requested; an allowed one is (positive control)."""
    site, record = robots_site(target, config, admin_client)
    cfg, stamp = config.ingestion, f"{time.time_ns()}"
    allowed = f"{cfg.robots_allowed_prefix}{stamp}"
    denied = [f"{prefix}{stamp}" for prefix in cfg.robots_disallowed_prefixes]
    jobs = {
        path: _fetch(admin_client, site + path, cfg.ingest_timeout_s) for path in (allowed, *denied)
    }
    seen = {r["path"] for r in record.requests()}
    decisions = {r["path"]: r["allowed"] for r in record.robots_decisions() or []}
    evidence.add(
        source=record.what,
        robots_txt_fetched="/robots.txt" in seen,
        requested={p: p in seen for p in jobs},
        robots_decisions={p: decisions.get(p) for p in jobs} if decisions else None,
        results={p: j.get("result") for p, j in jobs.items()},
    )
    assert "/robots.txt" in seen, "robots.txt was never fetched"
    assert allowed in seen, f"the allowed page {allowed} was not fetched: {jobs[allowed]}"
    # Fetched is not enough for the positive control: the page must have been stored.
    assert jobs[allowed].get("status") == "succeeded", f"the allowed page's job: {jobs[allowed]}"
    fetched = [p for p in denied if p in seen]
    assert not fetched, f"pages disallowed by robots.txt were fetched: {fetched}"
    if record.robots_decisions() is not None:  # the platform says why it did not fetch them
        undecided = [p for p in denied if decisions.get(p) is not False]
        assert not undecided, f"no 'disallowed' robots.txt decision recorded for {undecided}"


def _fetch_at_once(admin_client: httpx.Client, urls: list[str]) -> list[str]:
    """Enqueue one fetch per URL while the hot queue is paused, then resume: the workers take
    them all at the same instant, so the platform's requests to the site really are concurrent."""
    queues = {"queues": ["hot"]}
    assert admin_client.post("/admin/queues/pause", json=queues).status_code == 200
    try:
        return [_enqueue(admin_client, url) for url in urls]
    finally:
        admin_client.post("/admin/queues/resume", json=queues)


def _answered_at(record: dict[str, Any]) -> float:
    return float(record["time"]) + float(record.get("duration_ms") or 0) / 1000


@pytest.mark.destructive
@pytest.mark.checklist("tos.external-rate-limits")
def test_outbound_waits_for_rate_limit_reset(
    target: Target, admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Page fetches to one site start at once; the site answers the first 429 with Retry-After.
    Its own request log shows no request after that answer and before the reset (whichever
    worker process sent it), and the fetches resume after the reset."""
    site, record = robots_site(target, config, admin_client)
    cfg = config.ingestion
    wait_s, slack = cfg.external_retry_after_s, config.timing_slack_s
    prefix = f"{cfg.robots_allowed_prefix}limited-{time.time_ns()}-"
    fault = site_fault(
        target, config, status=429, retry_after_s=wait_s, count=1, path_prefix=prefix
    )
    evidence.add(source=record.what, fault_hook=fault.describe())
    started = time.time()
    fault.cause()
    try:
        urls = [f"{site}{prefix}{i}" for i in range(cfg.external_rate_limit_fetches)]
        ids = _fetch_at_once(admin_client, urls)
        jobs = [wait_job(admin_client, i, cfg.ingest_timeout_s + wait_s) for i in ids]
    finally:
        fault.clear()
    pages = [r for r in requests_of(record, since=started) if r["path"].startswith(prefix)]
    limited = [r for r in pages if r["status"] == 429]
    assert limited, f"the site never answered 429 ({len(pages)} requests): jobs {jobs}"
    signal = _answered_at(limited[0])
    # Sent before the 429 was answered: concurrent with it, not a breach of its Retry-After.
    in_flight = [r for r in pages if float(limited[0]["time"]) < float(r["time"]) <= signal]
    after = [float(r["time"]) - signal for r in pages if float(r["time"]) > signal]
    early = [round(d, 3) for d in after if d < wait_s - slack]
    resumed = [d for d in after if d >= wait_s - slack]
    evidence.add(
        retry_after_s=wait_s,
        concurrent_fetches=len(urls),
        requests=len(pages),
        in_flight_with_429=len(in_flight),
        early_requests_after_s=early,
        next_request_after_s=round(min(resumed), 3) if resumed else None,
        job_statuses=[j["status"] for j in jobs],
        outbound_rate_state=admin_settings(admin_client).get("outbound_rate_state"),
    )
    assert not early, (
        f"{len(early)} request(s) reached the site {early} s after its 429, "
        f"before Retry-After {wait_s} s had passed"
    )
    assert resumed, f"no request after the reset: jobs {[j['status'] for j in jobs]}"
