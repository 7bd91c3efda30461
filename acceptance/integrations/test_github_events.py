"""External Integrations: every GitHub event kind the platform accepts is processed, not only
push.

The platform takes push, repository and release events; each carries what it contributes in a
different place (a release its name and tag). test_github_webhook sends a push; this sends the
other kinds, each with a word only the part that kind adds carries, and expects the word to
become searchable (and the delivery's job to succeed, with the admin key).
"""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.documents_api import unique_word
from acceptance.support.ingestion import wait_job, wait_searchable, webhook_secret
from service.stack.send_webhook import github_payload, send_github


@pytest.mark.checklist("integrations.github-webhooks")
def test_every_github_event_kind_processed(
    target: Target,
    anon_client: httpx.Client,
    client: httpx.Client,
    optional_admin_client: httpx.Client | None,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """A repository event (its description) and a release event (its name) become searchable."""
    cfg = config.ingestion
    secret = webhook_secret(target, config, "github")
    words = {"repository": unique_word(), "release": unique_word()}
    # Repository names of their own: the name is searchable too, and must not carry the word.
    payloads = {
        "repository": github_payload(
            "repository", f"preflight-checks/{unique_word()}", description=words["repository"]
        ),
        "release": github_payload("release", f"preflight-checks/{unique_word()}"),
    }
    payloads["release"]["release"]["name"] = f"{words['release']} release"
    accepted = {event: send_github(anon_client, secret, event, p) for event, p in payloads.items()}
    evidence.add(statuses={e: r.status_code for e, r in accepted.items()})
    refused = {
        e: f"{r.status_code} {r.text[:200]}" for e, r in accepted.items() if r.status_code != 202
    }
    assert not refused, f"GitHub events not accepted: {refused}"
    jobs: dict[str, str] = {}
    for event, word in words.items():
        if optional_admin_client is not None:
            job_id = accepted[event].json()["job_id"]
            jobs[event] = wait_job(optional_admin_client, job_id, cfg.ingest_timeout_s)["status"]
        hit = wait_searchable(client, word, cfg.ingest_timeout_s)
        assert hit["source"] == "github", hit
    evidence.add(jobs=jobs or "not read (no admin key)")
    failed = {e: s for e, s in jobs.items() if s != "succeeded"}
    assert not failed, f"GitHub event jobs did not succeed: {failed}"
