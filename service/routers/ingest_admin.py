"""Admin routes of the ingestion: erase a data subject, fetch a page, probe the sandbox.

``POST /admin/subjects/erase`` takes the raw identifier (login, name or e-mail), maps it to the
pseudonym ingestion stored (``service.ingest.personal``) and removes the subject's documents and
scrubs the ingestion job records that name it (a SCAN over job records: fine for the retention
window's volume, and erasure requests are rare). ``POST /admin/sandbox/probe`` feeds one kind of
hostile input to the sandbox, in the API process or (``via: worker``) as a job, so the suite can
verify containment on any deployment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from service.deps import AdminKey, RedisDep, SettingsDep
from service.documents.deps import StoreDep
from service.errors import ApiError
from service.ingest import personal
from service.ingest.stats import COLLECTOR
from service.jobs import queue
from service.keyspace import keys as c
from service.routers.job_models import ADMIN_REFUSALS
from service.security import sandbox

INGEST_KINDS = frozenset({"webhook_event", "arxiv_paper", "fetch_page"})
ERASED = json.dumps({"erased": True})


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Point the ingestion metrics collector at this app's datastore."""
    COLLECTOR.bind(app.state.settings.redis_url)
    yield


router = APIRouter(prefix="/admin", tags=["admin"], responses=ADMIN_REFUSALS, lifespan=_lifespan)


class SubjectErase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=320)


class SandboxProbe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["cpu", "memory", "write", "connect", "xml-bomb"]


class PageFetch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    source: Literal["huggingface", "github"] = "huggingface"


async def _scrub_jobs(redis: Redis, needles: list[str]) -> int:
    scrubbed = 0
    async for key in redis.scan_iter(match=c.JOB_PREFIX + "*", count=500):
        kind, payload, result = await redis.hmget(key, ["kind", "payload", "result"])
        if kind not in INGEST_KINDS:
            continue
        text = (queue.text(payload or "") + queue.text(result or "")).lower()
        if any(n in text for n in needles):
            await redis.hset(key, mapping={"payload": ERASED, "result": ERASED})
            scrubbed += 1
    return scrubbed


@router.post("/subjects/erase")
async def erase_subject(
    body: SubjectErase, settings: SettingsDep, redis: RedisDep, store: StoreDep, _admin: AdminKey
) -> dict[str, Any]:
    """Erase what the platform keeps about one person (documents and ingestion job records)."""
    raw = body.subject.strip()
    ids = [i for i in (personal.pseudonym(settings, raw), raw) if i]
    deleted = 0
    for subject in ids:
        deleted += await asyncio.to_thread(store.delete_by_subject, subject)
    scrubbed = await _scrub_jobs(redis, [i.lower() for i in ids])
    return {
        "subject_pseudonym": ids[0] if len(ids) > 1 else None,
        "documents_deleted": deleted,
        "job_records_scrubbed": scrubbed,
    }


@router.post("/sandbox/probe")
async def probe_sandbox(
    body: SandboxProbe, settings: SettingsDep, _admin: AdminKey
) -> dict[str, Any]:
    """Feed hostile input of one kind to the sandbox; ``stopped`` says whether it held."""
    return await sandbox.probe(settings, body.kind)


@router.post("/ingest/fetch", status_code=202)
async def fetch_page(
    body: PageFetch, settings: SettingsDep, redis: RedisDep, admin: AdminKey
) -> dict[str, Any]:
    """Enqueue a ``fetch_page`` job (robots.txt obeyed, egress policy applied)."""
    try:
        result = await queue.enqueue(
            redis,
            settings,
            kind="fetch_page",
            queue="hot",
            payload=body.model_dump(),
            owner=admin.key_id,
        )
    except queue.QueueFullError as exc:
        raise ApiError(
            429,
            "overloaded_error",
            str(exc),
            code="queue_full",
            headers={"Retry-After": str(settings.queue_retry_after_s)},
        ) from exc
    return {"job_id": result.job_id, "status": result.status, "queue": result.queue}
