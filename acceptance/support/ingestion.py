"""Client-side helpers of the ingestion checks: the requests a site received, webhook secrets,
waiting for a document to become searchable.

What a site received comes from a ``RequestRecord`` (``acceptance/support/outbound_record.py``:
the reference stack's emulator logs, or the platform's own record); faults are caused through
``acceptance/support/faults.py``.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import httpx

from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json
from acceptance.support.documents_api import search
from acceptance.support.outbound_record import RequestRecord
from service.waiting import poll_until

# The arXiv API's path: the emulator's log also holds the stack's readiness probe of /health,
# which is not a request to arXiv's API and must not count towards its cadence.
ARXIV_QUERY_PATH = "/api/query"


def requests_of(
    record: RequestRecord, path: str | None = None, since: float = 0.0
) -> list[dict[str, Any]]:
    """Recorded requests, oldest first (optionally one path, or only those after ``since``)."""
    found = [
        r
        for r in record.requests()
        if (path is None or r["path"] == path) and float(r["time"]) >= since
    ]
    return sorted(found, key=lambda r: float(r["time"]))


def gaps(records: list[dict[str, Any]]) -> list[float]:
    """Seconds between consecutive arrivals."""
    times = [float(r["time"]) for r in records]
    return [b - a for a, b in pairwise(times)]


def webhook_secret(target: Target, config: SuiteConfig, name: str) -> str:
    """A webhook secret of the target: the operator's (environment), else the stack's own."""
    given = config.ingestion.webhook_secrets.get(name)
    if given is not None:
        return given.get_secret_value()
    secrets: dict[str, str] = getattr(target.stack, "webhook_secrets", None) or {}
    if name not in secrets:
        not_verified(
            f"no {name} webhook secret to sign events with: set "
            f"PREFLIGHT_INGESTION__WEBHOOK_SECRETS__{name.upper()}"
        )
    return secrets[name]


def ingestion(anon_client: httpx.Client) -> dict[str, Any]:
    component = get_json(anon_client, "/health")["components"].get("ingestion")
    if not isinstance(component, dict):
        not_verified("the target reports no ingestion component in /health")
    return component


def wait_searchable(client: httpx.Client, word: str, timeout: float) -> dict[str, Any]:
    """The first search hit for ``word`` once it exists (bounded poll)."""

    def hit() -> dict[str, Any] | None:
        response = search(client, word)
        if response.status_code != 200:
            return None
        results: list[dict[str, Any]] = response.json()["results"]
        return results[0] if results else None

    return poll_until(hit, timeout=timeout, interval=0.2, message=f"{word!r} to become searchable")


def wait_job(admin_client: httpx.Client, job_id: str, timeout: float) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        record = get_json(admin_client, f"/status/{job_id}")
        return record if record["status"] in ("succeeded", "dead") else None

    return poll_until(done, timeout=timeout, interval=0.1, message=f"job {job_id} to finish")
