"""Response models of the job routes (they document the job record in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

QueueName = Literal["hot", "backfill"]


class AttemptPublic(BaseModel):
    attempt: int | None
    started_at: str | None
    finished_at: str | None
    error: str | None
    worker_id: str | None


class JobRecord(BaseModel):
    """The job record of docs/DESIGN.md; timestamps ISO-8601 UTC or null."""

    job_id: str
    kind: str
    queue: str
    status: Literal["queued", "running", "succeeded", "failed", "dead"]
    attempts: int
    max_attempts: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    next_attempt_at: str | None
    error: str | None
    result: dict[str, Any] | None
    worker_id: str | None
    attempt_history: list[AttemptPublic]


class DeadLetters(BaseModel):
    items: list[JobRecord]
    total: int


class WorkerPublic(BaseModel):
    id: str
    pid: int
    age_s: float
    version: str
    schema_version: int
    jobs_done: int


class Workers(BaseModel):
    workers: list[WorkerPublic]


class QueueSelection(BaseModel):
    """The queues a pause or resume acts on (all in one atomic step)."""

    model_config = ConfigDict(extra="forbid")

    queues: list[QueueName] = Field(min_length=1, max_length=8)


class QueueStatePublic(BaseModel):
    depth: int = Field(description="jobs waiting to start")
    size: int = Field(
        description="jobs accepted and not terminal (waiting, running, retrying):"
        " what the length limit counts"
    )
    limit: int = Field(description="queue_max_length of the queue; 0 = unlimited")
    paused: bool
    pause_expires_in_s: float | None = Field(
        description="seconds until the pause lifts itself (queue_pause_max_s); null if not paused"
    )


class Queues(BaseModel):
    queues: dict[str, QueueStatePublic]


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None
    request_id: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    return {status: {"model": ErrorBody} for status in statuses}


# The refusals of every admin-only route (no key, an ordinary key), declared router-wide by the
# routers that hold only admin routes.
ADMIN_REFUSALS = error_responses(401, 403)
