"""Data Consistency: recent data has been processed (ingestion and jobs are fresh)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.ingestion import ingestion
from service.waiting import PollTimeout, poll_until


def _age(value: Any) -> float | None:
    if not value:
        return None
    return time.time() - datetime.fromisoformat(str(value)).timestamp()


@pytest.mark.checklist("data.recent-processed")
def test_last_ingestion_and_job_are_fresh(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """The last successful ingestion (arXiv poll or accepted webhook) and the last completed
    ingestion job are within the freshness window (a fresh deployment gets a short grace)."""
    cfg = config.ingestion

    def fresh() -> dict[str, Any] | None:
        component = ingestion(anon_client)
        ingest = [
            a
            for a in (
                _age(component.get("last_poll_success_at")),
                _age(component.get("last_webhook_at")),
            )
            if a is not None
        ]
        job = _age(component.get("last_job_completed_at"))
        ok = (
            ingest
            and min(ingest) <= cfg.freshness_max_age_s
            and job is not None
            and job <= cfg.freshness_max_age_s
        )
        return component if ok else None

    try:
        component = poll_until(
            fresh, timeout=cfg.freshness_wait_s, interval=0.5, message="fresh ingestion in /health"
        )
    except PollTimeout as exc:
        last = ingestion(anon_client)
        evidence.add(ingestion=last, freshness_max_age_s=cfg.freshness_max_age_s)
        raise AssertionError(
            f"no ingestion and completed job within {cfg.freshness_max_age_s:g} s: last poll "
            f"{last.get('last_poll_success_at')}, last webhook {last.get('last_webhook_at')}, "
            f"last job {last.get('last_job_completed_at')}"
        ) from exc
    evidence.add(
        last_poll_success_at=component.get("last_poll_success_at"),
        last_webhook_at=component.get("last_webhook_at"),
        last_job_completed_at=component.get("last_job_completed_at"),
        freshness_max_age_s=cfg.freshness_max_age_s,
    )
