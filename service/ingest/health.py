"""The ``ingestion`` component of ``/health``: when arXiv was last polled successfully, when the
last webhook was accepted, when an ingestion job last stored a document.

Degraded when polling is configured and its last success is older than ``ingestion_stale_s``
(or it has never succeeded that long after the first request), so a silently stuck poller shows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from service.ingest import stats
from service.settings import Settings


def _iso(value: float | None) -> str | None:
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds") if value else None


async def ingestion_component(settings: Settings, redis: Redis) -> dict[str, Any]:
    values = await stats.read(redis)
    now = time.time()
    last_success = values.get("arxiv_last_success")
    last_request = values.get("arxiv_last_request")
    enabled = settings.arxiv_url is not None
    age = now - last_success if last_success else None
    stale = enabled and (
        (age is not None and age > settings.ingestion_stale_s)
        or (
            age is None
            and last_request is not None
            and now - last_request > settings.ingestion_stale_s
        )
    )
    return {
        "status": "degraded" if stale else "ok",
        "arxiv_enabled": enabled,
        "last_poll_success_at": _iso(last_success),
        "last_poll_age_s": round(age, 3) if age is not None else None,
        "last_request_at": _iso(last_request),
        "last_webhook_at": _iso(values.get("webhook_last_accepted")),
        "last_job_completed_at": _iso(values.get("job_last_completed")),
        "stale_after_s": settings.ingestion_stale_s,
        "arxiv_requests": int(values.get("arxiv_requests", 0)),
        "arxiv_backoffs": int(values.get("arxiv_backoffs", 0)),
        "arxiv_min_interval_s": settings.arxiv_min_interval_s,
    }
