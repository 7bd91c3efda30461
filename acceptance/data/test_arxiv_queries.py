"""Data Consistency: the recent data processed is the data the platform is configured to collect.

Fresh ingestion (data.recent-processed) says the poller ran; it does not say what it asked for.
arXiv answers a request without ``search_query`` with whatever it likes (the emulator: every
paper), so a poller that lost its query still looks healthy and fresh. Each arXiv API request
the site received must carry the configured query.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import admin_settings
from acceptance.support.ingestion import ARXIV_QUERY_PATH, requests_of
from acceptance.support.outbound_record import arxiv_record
from service.waiting import poll_until


@pytest.mark.checklist("data.recent-processed")
def test_arxiv_requests_ask_for_the_configured_query(
    target: Target,
    optional_admin_client: httpx.Client | None,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Every arXiv API request arXiv received carries search_query, equal to the target's
    configured arxiv_query when the admin key can read it."""
    record = arxiv_record(target, config, optional_admin_client)
    requests = poll_until(
        lambda: requests_of(record, ARXIV_QUERY_PATH) or None,
        timeout=config.ingestion.arxiv_cadence_timeout_s,
        interval=0.5,
        message=f"an arXiv request in {record.what}",
    )
    if any("query" not in r for r in requests):
        not_verified(f"{record.what} does not keep the query string of each request")
    expected = None
    if optional_admin_client is not None:
        expected = admin_settings(optional_admin_client).get("arxiv_query")
    asked = [parse_qs(str(r["query"])).get("search_query", [""])[0] for r in requests]
    evidence.add(source=record.what, requests=len(requests), configured=expected, asked=asked[-5:])
    wrong = sorted({q for q in asked if not q or (expected is not None and q != expected)})
    assert not wrong, f"arXiv was asked for {wrong}, the configured query is {expected!r}"
