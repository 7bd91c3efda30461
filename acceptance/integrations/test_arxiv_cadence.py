"""External Integrations: arXiv polling keeps the 3-second cadence across every process."""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support import promtext
from acceptance.support.ingestion import ARXIV_QUERY_PATH, gaps, ingestion, requests_of
from acceptance.support.outbound_record import arxiv_record
from acceptance.support.platform_metrics import platform_metrics
from service.waiting import poll_until


@pytest.mark.checklist("integrations.arxiv-cadence")
def test_arxiv_requests_never_closer_than_interval(
    target: Target,
    anon_client: httpx.Client,
    optional_admin_client: httpx.Client | None,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """The record of arXiv's requests (its own log on the reference stack, else the platform's
    record of what it sent) shows no two closer than the interval (all pollers and workers
    together); arXiv's own log also agrees with the platform's request counter.

    The record holds every request since the stack booted (the platform's: its last day), so
    the check waits only until it holds ``arxiv_cadence_min_requests`` in all: on a target that
    has been up a while, not at all."""
    cfg = config.ingestion
    record = arxiv_record(target, config, optional_admin_client)
    needed = cfg.arxiv_cadence_min_requests

    def enough() -> list[dict[str, object]] | None:
        arxiv = requests_of(record, ARXIV_QUERY_PATH)
        return arxiv if len(arxiv) >= needed else None

    records = poll_until(
        enough,
        timeout=cfg.arxiv_cadence_timeout_s,
        interval=0.5,
        message=f"{needed} arXiv requests in {record.what}",
    )
    spacing = gaps(records)
    closest = min(spacing)
    # Counted in the shared Redis by the pollers: every API process exports the same count.
    shared = platform_metrics(target, config, anon_client).shared()
    counted = promtext.total(shared, "platform_arxiv_requests_total")
    component = ingestion(anon_client)
    pollers = len(getattr(target.stack, "pollers", []) or [])
    evidence.add(
        source=record.what,
        arxiv_requests=len(records),
        min_gap_s=round(closest, 3),
        mean_gap_s=round(sum(spacing) / len(spacing), 3),
        pollers=pollers,
        metric_requests=counted,
        configured_interval_s=component.get("arxiv_min_interval_s"),
    )
    too_close = [round(g, 3) for g in spacing if g < cfg.arxiv_min_interval_s]
    assert not too_close, (
        f"{len(too_close)} arXiv requests closer than {cfg.arxiv_min_interval_s} s "
        f"(closest {closest:.3f} s) with {pollers} poller(s): {too_close[:10]}"
    )
    assert counted is not None, "platform_arxiv_requests_total is not exported"
    if not record.receiving_side:  # the platform's record and counter are the same witness
        return
    # Requests still in flight when the log or the metric was read account for the difference.
    assert abs(counted - len(records)) <= pollers + 1, (
        f"metrics say {counted:.0f} arXiv requests, the arXiv log shows {len(records)}"
    )
