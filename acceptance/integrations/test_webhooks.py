"""External Integrations: Hugging Face and GitHub webhooks are authenticated, answered fast,
processed once per delivery and end up searchable."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.api import documented_responses
from acceptance.support.documents_api import unique_word
from acceptance.support.ingestion import wait_job, wait_searchable, webhook_secret
from service.ingest.signatures import github_signature
from service.stack.send_webhook import github_payload, hf_payload, send_github, send_huggingface


def _timed(send: object) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = send()  # type: ignore[operator]  # a zero-argument sender
    return response, time.perf_counter() - started


def _processed(
    admin_client: httpx.Client | None, job_id: str, timeout: float, evidence: Evidence
) -> None:
    """The delivery's job ended succeeded (its document searchable is not enough: a job that
    stored it and then failed is retried and counted as an error). Needs the admin key."""
    if admin_client is None:
        evidence.add(job_status="not read (no admin key)")
        return
    job = wait_job(admin_client, job_id, timeout)
    evidence.add(job_status=job["status"])
    assert job["status"] == "succeeded", f"the delivery's job {job_id} ended {job['status']}"


def _declared(client: httpx.Client, path: str, evidence: Evidence) -> None:
    """The OpenAPI document declares what the route answered (202 accepted, 401 refused): a
    sender's integration is set up from it."""
    declared = documented_responses(client).get(("POST", path), set())
    evidence.add(openapi_responses=sorted(declared))
    assert {"202", "401"} <= declared, f"POST {path}: the OpenAPI document declares {declared}"


@pytest.mark.checklist("integrations.hf-webhooks")
def test_huggingface_webhook(
    target: Target,
    anon_client: httpx.Client,
    client: httpx.Client,
    optional_admin_client: httpx.Client | None,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """A correctly authenticated HF event is accepted fast and its repo becomes searchable; a
    wrong secret is refused; the same event delivered twice is processed once."""
    cfg = config.ingestion
    secret = webhook_secret(target, config, "huggingface")
    word = unique_word()
    payload = hf_payload(f"preflight-checks/{word}")
    wrong, _ = _timed(lambda: send_huggingface(anon_client, secret[::-1] + "x", payload))
    first, ack_s = _timed(lambda: send_huggingface(anon_client, secret, payload))
    again = send_huggingface(anon_client, secret, payload)
    evidence.add(
        ack_s=round(ack_s, 3),
        wrong_secret_status=wrong.status_code,
        first_status=first.status_code,
        redelivery=again.json(),
    )
    assert wrong.status_code == 401, f"wrong secret answered {wrong.status_code}, not 401"
    assert first.status_code == 202, f"authenticated event: {first.status_code} {first.text}"
    _declared(anon_client, "/webhooks/huggingface", evidence)
    assert ack_s <= cfg.webhook_ack_max_s, f"answered in {ack_s:.2f} s"
    assert again.status_code == 202 and again.json()["job_id"] == first.json()["job_id"], (
        f"redelivery was not idempotent: {first.json()} then {again.json()}"
    )
    hit = wait_searchable(client, word, cfg.ingest_timeout_s)
    evidence.add(searchable=hit["id"])
    assert hit["source"] == "huggingface", hit
    _processed(optional_admin_client, first.json()["job_id"], cfg.ingest_timeout_s, evidence)


@pytest.mark.checklist("integrations.github-webhooks")
def test_github_webhook(
    target: Target,
    anon_client: httpx.Client,
    client: httpx.Client,
    optional_admin_client: httpx.Client | None,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Ping answered; a signed push is accepted fast, processed once per X-GitHub-Delivery and
    searchable; a bad signature and a tampered body are refused."""
    cfg = config.ingestion
    secret = webhook_secret(target, config, "github")
    word = unique_word()
    repo = f"preflight-checks/{word}"
    payload = github_payload("push", repo, description=f"{word} evaluation harness")
    delivery = str(uuid.uuid4())
    ping = send_github(anon_client, secret, "ping", github_payload("ping", repo))
    bad = send_github(anon_client, secret, "push", payload, signature="sha256=" + "0" * 64)
    # Signed for one body, sent with a body one byte different.
    signed_x = json.dumps({**payload, "ref": "x"}, separators=(",", ":")).encode()
    tampered = send_github(
        anon_client,
        secret,
        "push",
        {**payload, "ref": "y"},
        signature=github_signature(secret, signed_x),
    )
    first, ack_s = _timed(
        lambda: send_github(anon_client, secret, "push", payload, delivery=delivery)
    )
    again = send_github(anon_client, secret, "push", payload, delivery=delivery)
    evidence.add(
        ping_status=ping.status_code,
        bad_signature_status=bad.status_code,
        tampered_status=tampered.status_code,
        ack_s=round(ack_s, 3),
        redelivery=again.json() if again.status_code < 500 else again.text,
    )
    assert ping.status_code == 200, f"ping answered {ping.status_code}"
    assert bad.status_code == 401, f"bad signature answered {bad.status_code}, not 401"
    assert tampered.status_code == 401, f"tampered body answered {tampered.status_code}"
    assert first.status_code == 202, f"signed push: {first.status_code} {first.text}"
    _declared(anon_client, "/webhooks/github", evidence)
    assert ack_s <= cfg.webhook_ack_max_s, f"answered in {ack_s:.2f} s"
    assert again.json()["job_id"] == first.json()["job_id"], (
        f"delivery {delivery} processed twice: {first.json()} then {again.json()}"
    )
    hit = wait_searchable(client, word, cfg.ingest_timeout_s)
    evidence.add(searchable=hit["id"])
    assert hit["source"] == "github", hit
    _processed(optional_admin_client, first.json()["job_id"], cfg.ingest_timeout_s, evidence)
