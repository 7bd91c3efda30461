"""Data Protection: canary personal data and configured secrets never reach logs or answers.

The canary is sent through every input path a client controls (query string, path, JSON body,
headers, a job payload, failed authentication); then everything the run's log source holds (every
log file of the stack, or the output of ``[logs] command`` for the check's window) is searched
for it verbatim and in its URL-encoded form.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from urllib.parse import quote, quote_plus

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.api import wait_job
from acceptance.support.logs import (
    LogBatch,
    LogSource,
    by_request_id,
    new_request_id,
    read_logs,
    since_now,
    wait_records,
)

STATUS_PATH = "/status/00000000000000000000000000000000"


def canaries(config: SuiteConfig) -> tuple[str, str]:
    """A per-run canary email and name (so an earlier run's leak cannot make this one pass)."""
    token = uuid.uuid4().hex[:8]
    local, _, domain = config.observability.canary_email.partition("@")
    return f"{local}+{token}@{domain}", f"{config.observability.canary_name} {token}"


def _forms(*values: str) -> list[str]:
    """The values as sent and as they look URL-encoded (query strings, form bodies)."""
    return sorted({form for v in values for form in (v, quote(v, safe=""), quote_plus(v))})


def send_canary(
    anon_client: httpx.Client,
    client: httpx.Client,
    admin_client: httpx.Client,
    email: str,
    name: str,
    timeout: float,
) -> dict[str, int]:
    """The canary through each input path; the status of each request."""
    person = {"X-Customer-Email": email, "X-Customer-Name": name, "User-Agent": name}
    answers = {
        "query": client.get(STATUS_PATH, params={"email": email, "name": name}),
        "path": client.get(f"/status/{email}"),
        "json_body": client.post("/enqueue", json={"kind": "noop", "payload": {"email": email}}),
        "idempotency_key": client.post(
            "/enqueue", json={"kind": "noop"}, headers={"Idempotency-Key": email}
        ),
        "headers": client.get("/version", headers={**person, "X-Request-ID": email}),
        "failed_auth_bearer": anon_client.get(
            STATUS_PATH, headers={"Authorization": f"Bearer {email}"}
        ),
        "failed_auth_api_key": anon_client.get(STATUS_PATH, headers={"X-API-Key": name}),
        "search": client.get("/search", params={"q": f"{name} {email}"}),
    }
    job = admin_client.post("/enqueue", json={"kind": "probe", "payload": {"tag": email[:64]}})
    answers["job_payload_tag"] = job
    if job.status_code == 202:
        wait_job(admin_client, job.json()["job_id"], timeout=timeout)
    return {path: r.status_code for path, r in answers.items()}


def settle(
    anon_client: httpx.Client, log_source: LogSource, since: datetime, config: SuiteConfig
) -> LogBatch:
    """Wait for the access record of a marker request sent after the probes, then read all.

    Records are written as each request ends, a moment after its answer; once the marker's
    record is in, the earlier requests' records are too. A target without access records
    (another check's failure) just skips the wait.
    """
    marker = new_request_id("marker")
    anon_client.get("/health/live", headers={"X-Request-ID": marker})
    with contextlib.suppress(AssertionError):
        wait_records(
            log_source,
            by_request_id(marker),
            since=since,
            streams=["access"],
            timeout=config.observability.log_wait_s,
            what="the marker's access record",
        )
    return read_logs(log_source, since)


@pytest.mark.checklist("protection.logs-no-sensitive")
def test_canary_personal_data_not_logged(
    anon_client: httpx.Client,
    client: httpx.Client,
    admin_client: httpx.Client,
    log_source: LogSource,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """An email and a name sent through every input path appear nowhere in the logs."""
    since = since_now(config)
    email, name = canaries(config)
    statuses = send_canary(
        anon_client, client, admin_client, email, name, config.job_wait_timeout_s
    )
    needles = _forms(email, name)
    batch = settle(anon_client, log_source, since, config)
    leaks = batch.occurrences(needles)
    evidence.add(
        input_paths=statuses,
        log_source=log_source.describe(),
        scanned=sorted(batch.texts),
        bytes_scanned=batch.bytes_scanned(),
        leaks={f: [n[:12] + "..." for n in found] for f, found in leaks.items()},
    )
    assert not leaks, f"canary personal data found in logs: {sorted(leaks)}"


def _secret_values(target: Target) -> dict[str, str]:
    keys = dict(target.stack.keys.model_dump()) if target.stack is not None else {}
    given = {"api": target.api_key, "api_2": target.api_key_2, "admin": target.admin_key}
    return {name: value for name, value in {**given, **keys}.items() if value}


@pytest.mark.checklist("protection.secrets-not-exposed")
def test_secrets_not_exposed(
    anon_client: httpx.Client,
    client: httpx.Client,
    admin_client: httpx.Client,
    target: Target,
    log_source: LogSource,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Configured keys appear in no response (errors, admin config, metrics) and no log."""
    since = since_now(config)
    secrets = _secret_values(target)
    probes = {
        "health": anon_client.get("/health"),
        "version": anon_client.get("/version"),
        "metrics": anon_client.get("/metrics"),
        "openapi": anon_client.get("/openapi.json"),
        "admin_config": admin_client.get("/admin/config"),
        "error_404": client.get(STATUS_PATH),
        "error_422": client.post("/enqueue", json={"kind": "noop", "payload": {"x": 1}}),
        "error_401_near_miss": anon_client.get(
            STATUS_PATH, headers={"Authorization": f"Bearer {secrets.get('api', '')}x"}
        ),
        "error_403": client.get("/admin/config"),
        "error_500": admin_client.post("/admin/diagnostics/error"),
    }
    exposed = {
        where: [
            name
            for name, value in secrets.items()
            if value in response.text or any(value in v for v in response.headers.values())
        ]
        for where, response in probes.items()
    }
    exposed = {where: names for where, names in exposed.items() if names}
    batch = settle(anon_client, log_source, since, config)
    leaks = batch.occurrences(secrets.values())
    by_name = {f: [n for n, v in secrets.items() if v in found] for f, found in leaks.items()}
    evidence.add(
        secrets_checked=sorted(secrets),
        responses_checked={where: r.status_code for where, r in probes.items()},
        exposed_in_responses=exposed,
        log_source=log_source.describe(),
        scanned=len(batch.texts),
        leaked_in_logs=by_name,
    )
    assert not exposed, f"secrets in responses: {exposed}"
    assert not leaks, f"secrets in the logs: {by_name}"
