"""External Integrations: a webhook delivery that authenticates but is malformed is refused with
a 422 the sender can read, on both webhook routes.

GitHub and Hugging Face redeliver what got a 5xx; a malformed body that crashes the handler
would come back again and again and show as platform errors. Each route gets every malformed
shape it can meet (not JSON, JSON that is not an object, a GitHub delivery without its id, a
Hugging Face event without its objects), correctly signed, so that only the body is wrong.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.ingestion import webhook_secret
from service.ingest.signatures import github_signature

MALFORMED = {"not JSON": b"{not json", "a JSON array": b"[1, 2]", "a JSON string": b'"push"'}


def _github(client: httpx.Client, secret: str, body: bytes, delivery: str | None) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": github_signature(secret, body),
        "User-Agent": "GitHub-Hookshot/preflight",
    }
    if delivery:
        headers["X-GitHub-Delivery"] = delivery
    return client.post("/webhooks/github", content=body, headers=headers)


def _huggingface(client: httpx.Client, secret: str, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json", "X-Webhook-Secret": secret}
    return client.post("/webhooks/huggingface", content=body, headers=headers)


def _problems(answers: dict[str, httpx.Response]) -> dict[str, str]:
    """Each answer that is not a 422 carrying an invalid_request_error with a code."""
    wrong: dict[str, str] = {}
    for case, response in answers.items():
        error = response.json().get("error") if response.status_code == 422 else None
        if not isinstance(error, dict) or error.get("type") != "invalid_request_error":
            wrong[case] = f"{response.status_code} {response.text[:200]}"
        elif not error.get("code"):
            wrong[case] = f"422 without an error code: {response.text[:200]}"
    return wrong


@pytest.mark.checklist("integrations.github-webhooks")
def test_github_refuses_malformed_deliveries(
    target: Target, anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Signed deliveries with a malformed body, or without X-GitHub-Delivery: 422 each."""
    secret = webhook_secret(target, config, "github")
    answers = {
        case: _github(anon_client, secret, body, str(uuid.uuid4()))
        for case, body in MALFORMED.items()
    }
    answers["no delivery id"] = _github(anon_client, secret, b'{"ref": "refs/heads/main"}', None)
    evidence.add(answers={case: r.status_code for case, r in answers.items()})
    wrong = _problems(answers)
    assert not wrong, f"malformed GitHub deliveries not refused with 422: {wrong}"


@pytest.mark.checklist("integrations.hf-webhooks")
def test_huggingface_refuses_malformed_deliveries(
    target: Target, anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Authenticated deliveries with a malformed body, or an object without 'event' and
    'repo': 422 each."""
    secret = webhook_secret(target, config, "huggingface")
    answers = {case: _huggingface(anon_client, secret, body) for case, body in MALFORMED.items()}
    answers["no event/repo objects"] = _huggingface(anon_client, secret, b'{"repo": "x"}')
    evidence.add(answers={case: r.status_code for case, r in answers.items()})
    wrong = _problems(answers)
    assert not wrong, f"malformed Hugging Face deliveries not refused with 422: {wrong}"
