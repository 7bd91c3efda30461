"""Authentication & Authorization: every secured operation wants a key, bad keys get 401."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.support.api import get_json

PLACEHOLDER = "00000000000000000000000000000000"


def secured_operations(client: httpx.Client) -> list[tuple[str, str]]:
    """(method, path) of every operation the OpenAPI document marks as secured."""
    document = get_json(client, "/openapi.json")
    default = document.get("security")
    found = []
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"} and operation.get(
                "security", default
            ):
                found.append((method.upper(), path))
    return sorted(found)


def concrete(path: str) -> str:
    """A request path for a templated one; the placeholder only has to get past routing."""
    return re.sub(r"\{[^}]+\}", PLACEHOLDER, path)


def call(client: httpx.Client, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body: Any = {} if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, concrete(path), headers=headers, json=body)


@pytest.mark.checklist("auth.protected-endpoints")
def test_secured_operations_need_a_key(
    anon_client: httpx.Client, target: Target, evidence: Evidence
) -> None:
    """No key: 401 on every secured operation. A valid key: never 401."""
    operations = secured_operations(anon_client)
    assert operations, "the OpenAPI document marks no operation as secured"
    open_ops = [f"{m} {p}" for m, p in operations if call(anon_client, m, p, {}).status_code != 401]
    key = target.admin_key or target.api_key
    assert key, "no API key given to the suite"
    refused = [
        f"{m} {p}"
        for m, p in operations
        if call(anon_client, m, p, {"Authorization": f"Bearer {key}"}).status_code == 401
    ]
    evidence.add(
        secured_operations=len(operations),
        open_without_key=open_ops,
        refused_with_valid_key=refused,
    )
    assert not open_ops, f"secured operations answer without a key: {open_ops}"
    assert not refused, f"a valid key is refused by: {refused}"


@pytest.mark.checklist("auth.invalid-key-401")
def test_invalid_keys_rejected(
    anon_client: httpx.Client, target: Target, evidence: Evidence
) -> None:
    """Wrong, malformed, revoked and empty keys: 401 with WWW-Authenticate, nothing leaked."""
    candidates = {
        "wrong": {"Authorization": "Bearer " + "x" * 43},
        "malformed": {"Authorization": "Basic Zm9vOmJhcg=="},
        "empty": {"Authorization": "Bearer"},
        "empty header key": {"X-API-Key": ""},
        "near miss": {"Authorization": f"Bearer {(target.api_key or 'k')[:-1]}"},
    }
    if target.revoked_key:
        candidates["revoked"] = {"Authorization": f"Bearer {target.revoked_key}"}
    answers: dict[str, int] = {}
    problems: list[str] = []
    for name, headers in candidates.items():
        response = anon_client.post(
            "/enqueue", json={"kind": "noop", "payload": {}}, headers=headers
        )
        answers[name] = response.status_code
        if response.status_code != 401:
            problems.append(f"{name}: {response.status_code}")
            continue
        if not response.headers.get("www-authenticate", "").lower().startswith("bearer"):
            problems.append(f"{name}: no Bearer WWW-Authenticate")
        secret = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if secret and secret in response.text:
            problems.append(f"{name}: key echoed in the body")
    evidence.add(answers=answers, revoked_key_tested=bool(target.revoked_key))
    assert not problems, "; ".join(problems)
