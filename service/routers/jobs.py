"""``POST /enqueue`` and ``GET /status/{job_id}``: the public face of the job queue.

Job ids are uuid4 hex: unguessable, so (as in the HTTP contract) any valid API key may read a
job's status by id; the owner's key id is kept in the record, not shown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Path, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.deps import ApiKey, RedisDep, SettingsDep
from service.errors import ApiError
from service.jobs import metrics as job_metrics
from service.jobs import queue, worker_metrics
from service.jobs.kinds import KINDS
from service.logs import current_context
from service.routers.job_models import JobRecord, error_responses


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Point the job metrics collector at this app's datastore (merged into the app's lifespan)."""
    job_metrics.COLLECTOR.bind(app.state.settings.redis_url)
    worker_metrics.COLLECTOR.bind(app.state.settings.redis_url)
    yield


log = logging.getLogger("platform.jobs")
router = APIRouter(tags=["jobs"], lifespan=_lifespan)

IdempotencyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]


class JobCreate(BaseModel):
    """A job to run; ``payload`` is validated by the model of its ``kind``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["noop", "probe"]
    queue: Literal["hot", "backfill"] = "hot"
    payload: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)


class JobAccepted(BaseModel):
    job_id: str
    status: str
    queue: str


@router.post(
    "/enqueue",
    status_code=202,
    response_model=JobAccepted,
    responses=error_responses(401, 403, 422, 429),
)
async def create_job(
    body: JobCreate,
    principal: ApiKey,
    redis: RedisDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> JobAccepted:
    """Accept a job (202) or refuse it when its queue is full (429 + Retry-After)."""
    kind = KINDS[body.kind]
    if kind.admin_only and not principal.is_admin:
        raise ApiError(
            403,
            "permission_error",
            f"job kind {body.kind!r} needs an admin key",
            code="admin_only_kind",
            param="kind",
        )
    if idempotency_key and body.idempotency_key and idempotency_key != body.idempotency_key:
        raise ApiError(
            422,
            "invalid_request_error",
            "Idempotency-Key header and idempotency_key field differ",
            code="idempotency_key_mismatch",
            param="idempotency_key",
        )
    try:
        payload = kind.payload_model.model_validate(body.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("payload", *first["loc"]))
        raise ApiError(
            422,
            "invalid_request_error",
            f"{where}: {first['msg']}",
            code="invalid_payload",
            param=where,
        ) from exc
    try:
        result = await queue.enqueue(
            redis,
            settings,
            kind=body.kind,
            queue=body.queue,
            payload=payload.model_dump(mode="json"),
            owner=principal.key_id,
            idempotency=idempotency_key or body.idempotency_key,
            request_id=current_context().get("request_id"),
        )
    except queue.QueueFullError as exc:
        raise ApiError(
            429,
            "overloaded_error",
            str(exc),
            code="queue_full",
            param="queue",
            headers={"Retry-After": str(settings.queue_retry_after_s)},
        ) from exc
    if not result.created:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        log.info(
            "job %s accepted (%s, %s)",
            result.job_id,
            body.kind,
            result.queue,
            extra={"job_id": result.job_id},
        )
    return JobAccepted(job_id=result.job_id, status=result.status, queue=result.queue)


@router.get("/status/{job_id}", response_model=JobRecord, responses=error_responses(401, 404, 422))
async def read_job(
    job_id: Annotated[str, Path(pattern=queue.JOB_ID_PATTERN)], principal: ApiKey, redis: RedisDep
) -> dict[str, Any]:
    """The job record; 404 when no such job exists (or its retention ran out)."""
    record = await queue.get_job(redis, job_id)
    if record is None:
        raise ApiError(
            404, "not_found_error", f"no job {job_id}", code="job_not_found", param="job_id"
        )
    return record
