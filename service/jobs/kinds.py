"""The kinds of job the platform runs: payload models and handlers, one registry.

The API validates a payload with the kind's model before accepting the job (422 otherwise); the
worker validates again before running (a record written by an older version must not crash a
newer worker) and treats an invalid payload as a permanent failure. ``probe`` exists so that the
acceptance suite can drive retries, dead letters and slow jobs on a live system; it is admin-only
because it lets a caller burn worker time on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.documents.status import BackupPayload, run_backup_job


class JobFailedError(Exception):
    """An attempt failed in a way that a retry may fix; the message goes into the record."""


class NoopPayload(BaseModel):
    """``noop`` takes no parameters."""

    model_config = ConfigDict(extra="forbid")


class ProbePayload(BaseModel):
    """A job whose behaviour the caller plans: fail N times, always fail, run for a while."""

    model_config = ConfigDict(extra="forbid")

    fail_times: int = Field(default=0, ge=0, le=1_000)
    always_fail: bool = False
    duration_s: float = Field(default=0.0, ge=0.0, le=60.0)
    tag: str = Field(default="", max_length=64)
    # Memory the worker keeps for good: a deliberate leak for the memory self-tests.
    leak_kb: int = Field(default=0, ge=0, le=16_384)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What a handler knows about the attempt it runs."""

    job_id: str
    attempt: int
    max_attempts: int


Handler = Callable[[Any, Attempt], Awaitable[dict[str, Any]]]

# What ``probe`` jobs with ``leak_kb`` retain: never freed while the worker lives, so a suite can
# prove that its memory checks see a leaking process.
_RETAINED: list[bytes] = []


async def run_noop(payload: NoopPayload, attempt: Attempt) -> dict[str, Any]:
    return {"ok": True}


async def run_probe(payload: ProbePayload, attempt: Attempt) -> dict[str, Any]:
    if payload.leak_kb:
        # Non-zero bytes: zero pages of a fresh mapping would not count in the resident size.
        _RETAINED.append(b"\x01" * (payload.leak_kb * 1024))
    if payload.duration_s:
        await asyncio.sleep(payload.duration_s)
    if payload.always_fail or attempt.attempt <= payload.fail_times:
        raise JobFailedError(f"probe: planned failure {attempt.attempt}")
    return {"ok": True, "tag": payload.tag, "attempt": attempt.attempt}


@dataclass(frozen=True, slots=True)
class JobKind:
    name: str
    payload_model: type[BaseModel]
    handler: Handler
    admin_only: bool = False


KINDS: dict[str, JobKind] = {
    "noop": JobKind("noop", NoopPayload, run_noop),
    "probe": JobKind("probe", ProbePayload, run_probe, admin_only=True),
    # A scheduled (or operator-enqueued) backup of the document store; admin only.
    "backup": JobKind("backup", BackupPayload, run_backup_job, admin_only=True),
}

# Ingestion (service/ingest/jobs.py): enqueued by the poller, the webhook routes and the admin
# ingestion routes; admin only on /enqueue because they make the platform call out or burn CPU.
from service.ingest import jobs as _ingest  # noqa: E402 - registered after the core kinds

KINDS.update(
    {
        "arxiv_paper": JobKind(
            "arxiv_paper", _ingest.ArxivPaperPayload, _ingest.run_arxiv_paper, admin_only=True
        ),
        "webhook_event": JobKind(
            "webhook_event", _ingest.WebhookEventPayload, _ingest.run_webhook_event, admin_only=True
        ),
        "fetch_page": JobKind(
            "fetch_page", _ingest.FetchPagePayload, _ingest.run_fetch_page, admin_only=True
        ),
        "sandbox_probe": JobKind(
            "sandbox_probe", _ingest.SandboxProbePayload, _ingest.run_sandbox_probe, admin_only=True
        ),
    }
)
