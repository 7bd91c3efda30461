"""Webhook authentication, scrubbing of personal data, and the webhook routes over HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from service.ingest import personal, signatures
from service.settings import Settings
from service.stack.send_webhook import github_payload, hf_payload, send_github, send_huggingface
from tests.support.api import KEYS, StartApi

# GitHub's published example (docs: "Validating webhook deliveries").
VECTOR_SECRET = "It's a Secret to Everybody"  # noqa: S105 - GitHub's published test vector
VECTOR_PAYLOAD = b"Hello, World!"
VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
GH_SECRET = "gh-secret-" + "g" * 30
HF_SECRET = "hf-secret-" + "h" * 30
PSEUDONYM_KEY = "pseudonym-" + "p" * 30


def test_github_published_vector_verifies() -> None:
    """GitHub's documented secret, payload and signature verify."""
    assert signatures.github_signature(VECTOR_SECRET, VECTOR_PAYLOAD) == VECTOR_SIGNATURE
    assert signatures.verify_github(VECTOR_SECRET, VECTOR_PAYLOAD, VECTOR_SIGNATURE)


@pytest.mark.parametrize("position", [0, 6, 12])
def test_one_byte_change_fails(position: int) -> None:
    """Changing any single byte of the payload breaks the signature."""
    tampered = bytearray(VECTOR_PAYLOAD)
    tampered[position] ^= 0x01
    assert not signatures.verify_github(VECTOR_SECRET, bytes(tampered), VECTOR_SIGNATURE)


@pytest.mark.parametrize("header", [None, "", "sha1=abc", VECTOR_SIGNATURE[:-1] + "0"])
def test_missing_or_wrong_signature_fails(header: str | None) -> None:
    assert not signatures.verify_github(VECTOR_SECRET, VECTOR_PAYLOAD, header)


def test_huggingface_secret_compare() -> None:
    assert signatures.verify_huggingface(HF_SECRET, HF_SECRET)
    assert not signatures.verify_huggingface(HF_SECRET, HF_SECRET + "x")
    assert not signatures.verify_huggingface(HF_SECRET, None)


def _settings(**extra: Any) -> Settings:
    return Settings(
        api_keys={"a": SecretStr("k" * 30)}, admin_keys={"b": SecretStr("m" * 30)}, **extra
    )


def test_github_scrub_keeps_no_person() -> None:
    """Pusher, sender and commit authors leave only pseudonyms; the owner stays for attribution."""
    settings = _settings(pseudonym_key=PSEUDONYM_KEY)
    body = github_payload(
        "push", "acme/tool", person="Jane Roe", email="jane@example.org", login="janeroe"
    )
    scrubbed = personal.scrub_github(settings, "push", body)
    text = json.dumps(scrubbed)
    for needle in ("Jane Roe", "jane@example.org", "janeroe"):
        assert needle not in text
    assert scrubbed["repository"]["owner"] == "acme"
    assert personal.pseudonym(settings, "JANE@example.org ") in scrubbed["subjects"]


def test_without_key_people_are_dropped() -> None:
    settings = _settings()
    scrubbed = personal.scrub_huggingface(settings, hf_payload("acme/model", author_id="u123"))
    assert scrubbed["subjects"] == [] and "u123" not in json.dumps(scrubbed)


def _webhook_api(start_api: StartApi, **extra: Any) -> httpx.Client:
    server = start_api(
        webhook_github_secret=GH_SECRET,
        webhook_hf_secret=HF_SECRET,
        pseudonym_key=PSEUDONYM_KEY,
        **extra,
    )
    return httpx.Client(base_url=server.url, timeout=10)


def test_github_route(start_api: StartApi) -> None:
    """Ping answered, push accepted once per delivery id, bad signature 401 (security event)."""
    with _webhook_api(start_api) as http:
        assert (
            send_github(http, GH_SECRET, "ping", github_payload("ping", "a/b")).status_code == 200
        )
        payload = github_payload("push", "a/b")
        first = send_github(http, GH_SECRET, "push", payload, delivery="d-1")
        again = send_github(http, GH_SECRET, "push", payload, delivery="d-1")
        bad = send_github(http, GH_SECRET, "push", payload, signature="sha256=" + "0" * 64)
        metrics = http.get("/metrics").text
    assert first.status_code == 202 and again.status_code == 202
    assert again.json() == {**first.json(), "duplicate": True}
    assert bad.status_code == 401
    assert 'platform_security_events_total{event="webhook_auth_failed"}' in metrics


def test_huggingface_route(start_api: StartApi) -> None:
    with _webhook_api(start_api) as http:
        ok = send_huggingface(http, HF_SECRET, hf_payload("acme/model"))
        wrong = send_huggingface(http, "x" * 40, hf_payload("acme/model"))
        unauth_job = http.get(
            f"/status/{ok.json()['job_id']}", headers={"Authorization": f"Bearer {KEYS['ci']}"}
        )
    assert ok.status_code == 202 and wrong.status_code == 401
    assert unauth_job.json()["kind"] == "webhook_event"


def test_unconfigured_webhooks_are_503(start_api: StartApi) -> None:
    server = start_api()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert send_huggingface(http, HF_SECRET, hf_payload("a/b")).status_code == 503


def test_weak_webhook_secret_refused() -> None:
    with pytest.raises(ValueError, match="webhook_github_secret"):
        _settings(webhook_github_secret="changeme")  # noqa: S106 - the weak value under test
