"""``GET /admin/outbound/requests``: what the platform sent to each external destination.

Every request on the wire (when it left, path, status, duration) and every robots.txt decision,
per destination (``host:port``), from ``service/outbound/request_log.py``. It is how an operator
(and the release gate, on a deployment whose external sites it cannot ask) sees the arXiv
cadence, the pauses after a 429 or 503, and which pages robots.txt kept the platform from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from service.deps import AdminKey, RedisDep
from service.errors import ApiError
from service.keyspace import keys as c
from service.outbound import request_log
from service.routers.job_models import ADMIN_REFUSALS

router = APIRouter(prefix="/admin", tags=["admin"], responses=ADMIN_REFUSALS)


def _epoch(value: str) -> float:
    """``since`` as epoch seconds or ISO-8601 (a trailing Z allowed)."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise ApiError(
            422, "invalid_request_error", "since: epoch seconds or ISO-8601", param="since"
        ) from exc


@router.get("/outbound/requests")
async def read_outbound_requests(
    redis: RedisDep,
    _admin: AdminKey,
    since: Annotated[str, Query(description="epoch seconds or ISO-8601")] = "0",
    limit: Annotated[int, Query(ge=1, le=c.OUTBOUND_LOG_MAXLEN)] = c.OUTBOUND_LOG_MAXLEN,
) -> dict[str, Any]:
    """Entries newer than ``since`` per destination, oldest first (at most ``limit`` each)."""
    found = await request_log.read(redis, _epoch(since), limit)
    return {
        "destinations": {
            host: {
                "requests": [e for e in entries if e.get("kind") == "request"],
                "robots": [e for e in entries if e.get("kind") == "robots"],
            }
            for host, entries in found.items()
        },
        "kept_per_destination": c.OUTBOUND_LOG_MAXLEN,
        "kept_s": c.OUTBOUND_LOG_TTL_S,
    }
