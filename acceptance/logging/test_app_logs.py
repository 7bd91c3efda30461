"""Logging: application records are collected, errors are structured, request ids correlate.

The records are read through the run's log source (the stack's files or ``[logs] command``):
each check sends its own request id and looks for the records that request produced, so parallel
checks never confuse each other's records.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import wait_job
from acceptance.support.logs import (
    LogSource,
    Record,
    by_request_id,
    new_request_id,
    since_now,
    wait_records,
)
from acceptance.support.providers import emulator, first_model, seen_by, stream_chat
from service.waiting import PollTimeout, poll_until

STRUCTURED_FIELDS = ("ts", "level", "logger", "message")
ERROR_FIELDS = ("level", "logger", "message", "exc_type", "traceback")


def _fields(record: Record, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: record.get(name) for name in names}


@pytest.mark.checklist("logging.collected")
def test_app_records_collected(
    client: httpx.Client, log_source: LogSource, config: SuiteConfig, evidence: Evidence
) -> None:
    """A job accepted under the check's request id leaves structured records in the app log."""
    request_id = new_request_id("collected")
    since = since_now(config)
    response = client.post("/enqueue", json={"kind": "noop"}, headers={"X-Request-ID": request_id})
    assert response.status_code == 202, f"enqueue: {response.status_code}"
    hits = wait_records(
        log_source,
        by_request_id(request_id),
        since=since,
        streams=["app"],
        timeout=config.observability.log_wait_s,
        what=f"app records of request {request_id}",
    )
    incomplete = [r for r in hits if any(not r.get(f) for f in STRUCTURED_FIELDS)]
    evidence.add(
        sink=log_source.describe(),
        request_id=request_id,
        records=len(hits),
        example=_fields(hits[0], STRUCTURED_FIELDS),
    )
    assert not incomplete, f"records without {STRUCTURED_FIELDS}: {incomplete[:2]}"


@pytest.mark.checklist("logging.structured-errors")
def test_induced_error_structured(
    admin_client: httpx.Client, log_source: LogSource, config: SuiteConfig, evidence: Evidence
) -> None:
    """An induced error gives one record with level, logger, message, error type, traceback."""
    request_id = new_request_id("error")
    since = since_now(config)
    response = admin_client.post("/admin/diagnostics/error", headers={"X-Request-ID": request_id})
    if response.status_code in (404, 405):
        not_verified("the target has no error diagnostics route (/admin/diagnostics/error)")
    assert response.status_code == 500, f"diagnostics route answered {response.status_code}"
    body = response.json()
    assert "Traceback" not in response.text, "the traceback reached the client"
    errors = wait_records(
        log_source,
        lambda r: by_request_id(request_id)(r) and r.get("level") == "ERROR",
        since=since,
        streams=["app"],
        timeout=config.observability.log_wait_s,
        what=f"error record of request {request_id}",
    )
    record = errors[0]
    evidence.add(
        request_id=request_id,
        error_records=len(errors),
        record={**_fields(record, ERROR_FIELDS), "traceback": str(record.get("traceback"))[:200]},
        client_error=body.get("error"),
    )
    assert len(errors) == 1, f"{len(errors)} error records for one error"
    missing = [f for f in ERROR_FIELDS if not record.get(f)]
    assert not missing, f"error record lacks {missing}"
    assert "Traceback" in str(record["traceback"]), "traceback field holds no traceback"


@pytest.mark.checklist("logging.correlation-ids")
def test_request_id_correlates(
    client: httpx.Client,
    target: Target,
    log_source: LogSource,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """The client's X-Request-ID is echoed and found in access, app and job (worker) logs."""
    request_id = new_request_id("trace")
    since = since_now(config)
    headers = {"X-Request-ID": request_id}
    response = client.post("/enqueue", json={"kind": "noop"}, headers=headers)
    assert response.status_code == 202, f"enqueue: {response.status_code}"
    job_id = response.json()["job_id"]
    wait_job(client, job_id, timeout=config.job_wait_timeout_s)
    wait_s = config.observability.log_wait_s
    seen = {
        "echoed": response.headers.get("x-request-id") == request_id,
        "access": bool(
            wait_records(
                log_source,
                by_request_id(request_id),
                since=since,
                streams=["access"],
                timeout=wait_s,
                what="access record",
            )
        ),
        "app": bool(
            wait_records(
                log_source,
                by_request_id(request_id),
                since=since,
                streams=["app"],
                timeout=wait_s,
                what="app record",
            )
        ),
        "job": bool(
            wait_records(
                log_source,
                lambda r: r.get("job_id") == job_id and r.get("request_id") == request_id,
                since=since,
                streams=["worker"],
                timeout=wait_s,
                what=f"worker records of job {job_id}",
            )
        ),
    }
    model = first_model(client)
    if model is not None:
        chat_id = new_request_id("chat")
        response = stream_chat(client, model, {"X-Request-ID": chat_id})
        assert response.status_code == 200, f"chat failed: {response.status_code}"
        # The provider that served (X-Provider), as endpoints.chat reads it; its log may be
        # written just after the last byte reached us, so it is polled within the deadline.
        provider = response.headers.get("x-provider") or ""
        info = emulator(target, provider)
        if info is not None:
            try:
                seen["provider"] = poll_until(
                    lambda: seen_by(info, provider, chat_id, config.http_timeout_s),
                    timeout=wait_s,
                    interval=0.1,
                    message=f"{provider} to record {chat_id}",
                )
            except PollTimeout:
                seen["provider"] = False
    evidence.add(request_id=request_id, job_id=job_id, seen=seen)
    missing = [where for where, ok in seen.items() if not ok]
    assert not missing, f"request id not found in: {missing}"
