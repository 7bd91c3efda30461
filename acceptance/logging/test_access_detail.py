"""Logging: access records are detailed enough to trace a request, and rotation is in policy."""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.api import admin_settings
from acceptance.support.logs import (
    LogSource,
    by_request_id,
    new_request_id,
    since_now,
    wait_records,
)

# An authenticated request (so the record has a key id) that changes nothing.
STATUS_PATH = "/status/00000000000000000000000000000000"
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "request_id", "client_ip", "key_id")


@pytest.mark.checklist("logging.access-detail")
def test_access_records_detailed(
    client: httpx.Client,
    target: Target,
    log_source: LogSource,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """An authenticated request's access record has every field, the key id and never the key."""
    request_id = new_request_id("access")
    since = since_now(config)
    response = client.get(STATUS_PATH, headers={"X-Request-ID": request_id})
    assert response.status_code == 404, f"GET {STATUS_PATH}: {response.status_code}"
    same_id = by_request_id(request_id)
    # A 429 waited out by the polite client leaves a record of its own: judge the answer's.
    (record, *more) = wait_records(
        log_source,
        lambda r: same_id(r) and r.get("status") == response.status_code,
        since=since,
        streams=["access"],
        timeout=config.observability.log_wait_s,
        what=f"access record of request {request_id}",
    )
    detail = {name: record.get(name) for name in ACCESS_FIELDS}
    keys = [k for k in (target.api_key, target.admin_key, target.api_key_2) if k]
    leaked = [name for name, value in record.items() if any(k in str(value) for k in keys)]
    evidence.add(record=detail, records=1 + len(more))
    missing = [name for name, value in detail.items() if value in (None, "")]
    assert not missing, f"access record lacks {missing}: {detail}"
    assert (detail["method"], detail["status"]) == ("GET", 404), detail
    if target.stack is not None:  # the reference stack says which id the key has
        assert detail["key_id"] == target.stack.key_ids.api, f"key id {detail['key_id']!r}"
    assert not leaked, f"the API key itself is in the access record fields {leaked}"


def _bounds(config: SuiteConfig) -> dict[str, tuple[int, int]]:
    o = config.observability
    return {
        "log_max_bytes": (o.log_max_bytes_min, o.log_max_bytes_max),
        "log_backup_count": (o.log_backup_count_min, o.log_backup_count_max),
        "log_retention_days": (o.log_retention_days_min, o.log_retention_days_max),
    }


@pytest.mark.checklist("logging.retention")
def test_rotation_and_retention_in_policy(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Log rotation size, kept files and retention days are configured and within policy."""
    settings = admin_settings(admin_client)
    bounds = _bounds(config)
    values = {name: settings.get(name) for name in bounds}
    evidence.add(configured=values, policy=bounds)
    missing = [name for name, value in values.items() if value is None]
    assert not missing, f"rotation/retention not configured: {missing}"
    outside = {
        name: value
        for name, value in values.items()
        if not bounds[name][0] <= int(value) <= bounds[name][1]  # type: ignore[arg-type]  # checked not None above
    }
    assert not outside, f"outside policy {bounds}: {outside}"
