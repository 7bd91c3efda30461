"""Client-side helpers the checks share: the platform's API as the suite sees it over the wire.

Kept apart from the checks so that a check reads as the box it verifies, and so that the same
request (enqueue a probe, follow a job) is written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from service.waiting import poll_until

TERMINAL = frozenset({"succeeded", "dead"})


def get_json(client: httpx.Client, path: str, **kwargs: Any) -> dict[str, Any]:
    """GET a JSON object, failing the check with the body when the status is not 200."""
    response = client.get(path, **kwargs)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:300]}"
    body = response.json()
    assert isinstance(body, dict), f"GET {path}: expected a JSON object, got {type(body).__name__}"
    return body


def documented_responses(client: httpx.Client) -> dict[tuple[str, str], set[str]]:
    """(METHOD, path template) -> the status codes the OpenAPI document declares for it: a
    refusal a client is never told about cannot be handled by a generated client."""
    document = get_json(client, "/openapi.json")
    return {
        (method.upper(), path): {str(code) for code in (operation.get("responses") or {})}
        for path, operations in (document.get("paths") or {}).items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
    }


def health(client: httpx.Client) -> dict[str, Any]:
    """The /health payload."""
    return get_json(client, "/health")


def enqueue(
    client: httpx.Client,
    kind: str = "noop",
    *,
    queue: str = "hot",
    payload: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Enqueue one job and return the 202 body; anything but 202 fails the check."""
    body: dict[str, Any] = {"kind": kind, "queue": queue, "payload": payload or {}}
    if idempotency_key is not None:
        body["idempotency_key"] = idempotency_key
    response = client.post("/enqueue", json=body)
    assert response.status_code == 202, (
        f"enqueue {kind}: {response.status_code} {response.text[:300]}"
    )
    accepted: dict[str, Any] = response.json()
    return accepted


def job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """The job record from /status."""
    return get_json(client, f"/status/{job_id}")


def wait_job(
    client: httpx.Client,
    job_id: str,
    *,
    statuses: Iterable[str] = TERMINAL,
    timeout: float,
    seen: list[str] | None = None,
) -> dict[str, Any]:
    """Poll /status until the job reaches one of ``statuses``; record every status seen."""
    wanted = frozenset(statuses)

    def reached() -> dict[str, Any] | None:
        record = job(client, job_id)
        if seen is not None and (not seen or seen[-1] != record["status"]):
            seen.append(record["status"])
        return record if record["status"] in wanted else None

    record: dict[str, Any] = poll_until(
        reached, timeout=timeout, interval=0.05, message=f"job {job_id} to reach {sorted(wanted)}"
    )
    return record


def admin_settings(admin_client: httpx.Client) -> dict[str, Any]:
    """The target's effective (redacted) configuration."""
    settings: dict[str, Any] = get_json(admin_client, "/admin/config")["settings"]
    return settings
