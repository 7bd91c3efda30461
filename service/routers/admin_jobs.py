"""Admin routes of the job system: queues (state, pause, resume), dead letters (inspect,
requeue), the live workers and the job system's integrity check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from service.deps import AdminKey, RedisDep, SettingsDep
from service.errors import ApiError
from service.jobs import control, heartbeat, queue
from service.jobs.integrity import job_integrity
from service.routers.job_models import (
    DeadLetters,
    JobRecord,
    Queues,
    QueueSelection,
    Workers,
    error_responses,
)

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/dead-letters", response_model=DeadLetters, responses=error_responses(401, 403))
async def read_dead_letters(
    principal: AdminKey,
    redis: RedisDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Dead jobs, most recent first, each with its last error and attempt history."""
    items, total = await queue.list_dead(redis, limit=limit, offset=offset)
    return {"items": items, "total": total}


@router.post(
    "/dead-letters/{job_id}/requeue",
    status_code=202,
    response_model=JobRecord,
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
async def requeue_dead_letter(
    job_id: Annotated[str, Path(pattern=queue.JOB_ID_PATTERN)],
    principal: AdminKey,
    redis: RedisDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Queue a dead job again with its attempts reset; 409 if the job is not dead."""
    try:
        record = await queue.requeue_dead(redis, settings, job_id)
    except queue.NotDeadError as exc:
        raise ApiError(
            409, "invalid_request_error", str(exc), code="job_not_dead", param="job_id"
        ) from exc
    except queue.QueueFullError as exc:
        raise ApiError(
            429,
            "overloaded_error",
            str(exc),
            code="queue_full",
            headers={"Retry-After": str(settings.queue_retry_after_s)},
        ) from exc
    if record is None:
        raise ApiError(
            404, "not_found_error", f"no job {job_id}", code="job_not_found", param="job_id"
        )
    return record


@router.get("/workers", response_model=Workers, responses=error_responses(401, 403))
async def read_workers(
    principal: AdminKey, redis: RedisDep, settings: SettingsDep
) -> dict[str, Any]:
    """Workers with a live heartbeat (expired ones are absent)."""
    workers = await heartbeat.list_workers(redis, settings)
    return {"workers": [w.public() for w in workers]}


@router.get("/queues", response_model=Queues, responses=error_responses(401, 403))
async def read_queues(
    principal: AdminKey, redis: RedisDep, settings: SettingsDep
) -> dict[str, Any]:
    """Per queue: jobs waiting (depth), held against the limit (size), the limit, pause state."""
    return {"queues": await control.queue_state(redis, settings)}


@router.post("/queues/pause", response_model=Queues, responses=error_responses(401, 403, 422))
async def pause_queues(
    body: QueueSelection, principal: AdminKey, redis: RedisDep, settings: SettingsDep
) -> dict[str, Any]:
    """Stop workers from starting jobs of these queues (enqueue still accepts) until resumed,
    or until ``queue_pause_max_s`` has passed."""
    await control.set_paused(redis, settings, body.queues, paused=True)
    return {"queues": await control.queue_state(redis, settings)}


@router.post("/queues/resume", response_model=Queues, responses=error_responses(401, 403, 422))
async def resume_queues(
    body: QueueSelection, principal: AdminKey, redis: RedisDep, settings: SettingsDep
) -> dict[str, Any]:
    """Let workers take jobs of these queues again; queues named together resume together."""
    await control.set_paused(redis, settings, body.queues, paused=False)
    return {"queues": await control.queue_state(redis, settings)}


@router.get("/jobs/integrity", responses=error_responses(401, 403))
async def read_job_integrity(
    principal: AdminKey, redis: RedisDep, settings: SettingsDep
) -> dict[str, Any]:
    """Orphaned job records, stream entries without a record, and in-flight entries of dead
    workers left unclaimed past the recovery deadline; ``ok`` when there are none."""
    return (await job_integrity(redis, settings)).as_dict()
