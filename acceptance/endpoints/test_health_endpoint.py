"""Core Endpoints: GET /health reports every component, and a component taken down shows."""

from __future__ import annotations

from typing import Literal

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.api import health
from acceptance.support.faults import workers_fault
from service.waiting import poll_until

Status = Literal["ok", "degraded", "down"]


class Component(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Status


class Components(BaseModel):
    """The components the documented schema requires; more are welcome."""

    model_config = ConfigDict(extra="allow")
    redis: Component
    queues: Component
    workers: Component
    disk: Component
    schema_: Component = Field(alias="schema")  # "schema" would shadow a BaseModel attribute


class HealthPayload(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["ok", "degraded"]
    version: str
    schema_version: int
    checked_at: str
    components: Components


@pytest.mark.checklist("endpoints.health")
def test_health_payload_complete(anon_client: httpx.Client, evidence: Evidence) -> None:
    """The payload validates against the documented schema and every component reports ok."""
    payload = health(anon_client)
    try:
        parsed = HealthPayload.model_validate(payload)
    except ValidationError as error:
        pytest.fail(f"/health does not match the documented schema: {error}")
    statuses = {name: c["status"] for name, c in payload["components"].items()}
    evidence.add(status=parsed.status, components=statuses)
    assert parsed.status == "ok", f"health is {parsed.status}: {statuses}"


@pytest.mark.destructive
@pytest.mark.checklist("endpoints.health")
def test_stopped_workers_show_degraded(
    target: Target, anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Workers stopped (the run's workers fault hook: ``[faults] workers_down``, else SIGSTOP on
    the reference stack's) make /health degraded; started again, it returns to ok."""
    fault = workers_fault(target, config)
    interval = float(health(anon_client)["components"]["workers"]["heartbeat_interval_s"])
    deadline = interval * 4 + config.health_deadline_s
    fault.cause()
    try:
        degraded = poll_until(
            lambda: (h := health(anon_client))["status"] == "degraded" and h,
            timeout=deadline,
            interval=0.2,
            message="health to report degraded with workers stopped",
        )
    finally:
        fault.clear()
    recovered = poll_until(
        lambda: health(anon_client)["status"] == "ok",
        timeout=deadline,
        interval=0.2,
        message="health to return to ok after workers resumed",
    )
    evidence.add(
        fault_hook=fault.describe(),
        degraded_workers=degraded["components"]["workers"],
        recovered=recovered,
    )
