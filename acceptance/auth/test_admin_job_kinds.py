"""Authentication & Authorization: the admin box's second surface, admin-only job kinds.

Admin routes are one surface of "admin endpoints are protected"; ``POST /enqueue`` is another:
the job kinds that make the platform burn CPU or call out (the suite's ``probe``) are admin
only there, and an ordinary key must be refused before anything is queued. A refusal is the
platform's error object with its type and a machine-readable code, as every other refusal is,
so that a client (and the operator reading the access log) can tell "not allowed" from a fault.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import not_verified

# The suite's own admin-only kind (the other checks enqueue it with the admin key).
ADMIN_KIND = "probe"


def _refusal(response: httpx.Response, status: int, error_type: str) -> str | None:
    """What is wrong with a refusal that should be ``status`` with ``error_type``, or None."""
    if response.status_code != status:
        return f"{response.status_code} (expected {status}): {response.text[:200]}"
    try:
        error: Any = response.json().get("error")
    except ValueError:
        return f"{status} without a JSON error object: {response.text[:200]}"
    if not isinstance(error, dict) or error.get("type") != error_type:
        return f"{status} without error type {error_type!r}: {response.text[:200]}"
    if not error.get("code"):
        return f"{status} without an error code: {response.text[:200]}"
    return None


@pytest.mark.checklist("auth.admin-protected")
def test_admin_only_job_kinds_need_admin_key(
    client: httpx.Client, anon_client: httpx.Client, evidence: Evidence
) -> None:
    """An admin-only kind on /enqueue: no key 401, an ordinary key 403 with a coded permission
    error and no job; each on both queues (the refusal must not depend on the queue)."""
    problems: dict[str, str] = {}
    answers: dict[str, int] = {}
    for queue in ("hot", "backfill"):
        body = {"kind": ADMIN_KIND, "queue": queue, "payload": {"tag": "preflight-admin-kind"}}
        anonymous = anon_client.post("/enqueue", json=body)
        ordinary = client.post("/enqueue", json=body)
        answers[f"{queue}: none"] = anonymous.status_code
        answers[f"{queue}: ordinary"] = ordinary.status_code
        if ordinary.status_code == 422:
            not_verified(f"the target does not know the job kind {ADMIN_KIND!r}: {ordinary.text}")
        for who, response, status, kind in (
            ("none", anonymous, 401, "authentication_error"),
            ("ordinary", ordinary, 403, "permission_error"),
        ):
            wrong = _refusal(response, status, kind)
            if wrong:
                problems[f"{queue}, {who} key"] = wrong
    evidence.add(kind=ADMIN_KIND, answers=answers)
    assert not problems, f"admin-only job kind {ADMIN_KIND!r} not protected as required: {problems}"
