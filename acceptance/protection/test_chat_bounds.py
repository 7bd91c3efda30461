"""Data Protection: every bound of the chat request is enforced, each on its own.

Schemathesis (test_openapi_fuzzing) samples inputs; it rarely builds the one request that is
just past a bound (10 001 messages). This check builds exactly that for every bound the
target's OpenAPI document declares on the chat request's fields (length, item count, numeric
range), one field at a time on an otherwise valid request, plus the conversation length the
suite is configured to expect (``chat_max_messages``): a release that drops a bound from the
code drops it from its OpenAPI document too, so the document alone cannot be the reference.
Each must be refused with 422 before any provider is asked.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json
from acceptance.support.providers import chat_model, providers_component

CHAT_PATH = "/v1/chat/completions"
MESSAGE = {"role": "user", "content": "ping"}


def _schema(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a local ``$ref`` followed."""
    ref = node.get("$ref")
    if not ref:
        return node
    found: Any = document
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return dict(found)


def _violations(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """One value per declared bound of a field, just outside it."""
    out: dict[str, Any] = {}
    for variant in [prop, *prop.get("anyOf", [])]:
        if "maxLength" in variant:
            out[f"{name} longer than {variant['maxLength']}"] = "a" * (variant["maxLength"] + 1)
        if variant.get("minLength", 0) > 0:
            out[f"{name} shorter than {variant['minLength']}"] = "a" * (variant["minLength"] - 1)
        if "maxItems" in variant:
            out[f"{name} over {variant['maxItems']} items"] = [MESSAGE] * (variant["maxItems"] + 1)
        if variant.get("minItems", 0) > 0:
            out[f"{name} under {variant['minItems']} items"] = [MESSAGE] * (variant["minItems"] - 1)
        integer = variant.get("type") == "integer"
        step = 1 if integer else 0.5
        if "maximum" in variant:
            above = variant["maximum"] + step
            out[f"{name} above {variant['maximum']}"] = int(above) if integer else above
        if "minimum" in variant:
            below = variant["minimum"] - step
            out[f"{name} below {variant['minimum']}"] = int(below) if integer else below
    return out


@pytest.mark.checklist("protection.input-validation")
def test_chat_request_bounds_enforced(
    client: httpx.Client, anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Each declared bound of the chat request, and the configured conversation length, just
    exceeded on a valid request: 422 each."""
    document = get_json(anon_client, "/openapi.json")
    operation = document.get("paths", {}).get(CHAT_PATH, {}).get("post") or {}
    body_schema = (
        operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ).get("schema") or {}
    properties = _schema(document, body_schema).get("properties") or {}
    assert properties, f"the OpenAPI document does not describe the body of POST {CHAT_PATH}"
    base = {
        "model": chat_model(config, providers_component(anon_client)),
        "messages": [MESSAGE],
        "max_tokens": 1,
    }
    cases: dict[str, dict[str, Any]] = {}
    for name, prop in properties.items():
        for case, value in _violations(name, _schema(document, prop)).items():
            cases[case] = {**base, name: value}
    cases[f"messages over chat_max_messages ({config.chat_max_messages})"] = {
        **base,
        "messages": [MESSAGE] * (config.chat_max_messages + 1),
    }
    answers = {case: client.post(CHAT_PATH, json=body).status_code for case, body in cases.items()}
    evidence.add(answers=answers)
    wrong = {case: status for case, status in answers.items() if status != 422}
    assert not wrong, f"chat requests past a bound not refused with 422: {wrong}"
