"""Running one attempt of a job: validation, timeout, and turning any outcome into a record.

Separate from the worker loop so that what an attempt *does* (and how its failures are
classified) can be read and tested without Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging

from pydantic import ValidationError

from service.jobs.kinds import KINDS, Attempt, JobFailedError
from service.keyspace import keys as c

log = logging.getLogger("service.jobs.worker")

# (succeeded, result JSON or error text, final: no retry can help)
Outcome = tuple[bool, str, bool]


async def execute(
    kind_name: str,
    payload_json: str,
    job_id: str,
    attempt: int,
    max_attempts: int,
    timeout_s: float,
) -> Outcome:
    """Run the attempt; never raises except CancelledError (shutdown)."""
    kind = KINDS.get(kind_name)
    if kind is None:
        return False, f"unknown job kind {kind_name!r}", True
    try:
        payload = kind.payload_model.model_validate(json.loads(payload_json))
    except (ValidationError, ValueError) as exc:
        return False, f"invalid payload: {exc}"[: c.ERROR_MAX_CHARS], True
    try:
        result = await asyncio.wait_for(
            kind.handler(payload, Attempt(job_id, attempt, max_attempts)), timeout_s
        )
    except TimeoutError:
        return False, f"timeout: attempt ran longer than {timeout_s:g}s", False
    except JobFailedError as exc:
        return False, str(exc)[: c.ERROR_MAX_CHARS], False
    except Exception as exc:
        log.exception("job %s attempt %d raised", job_id, attempt)
        return False, f"{type(exc).__name__}: {exc}"[: c.ERROR_MAX_CHARS], False
    return True, json.dumps(result, separators=(",", ":")), False
