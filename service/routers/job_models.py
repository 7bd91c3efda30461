"""Response models of the job routes (they document the job record in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


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
