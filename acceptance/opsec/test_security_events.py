"""Operational Security: auth failures (and bad webhook signatures) are counted and logged.

Rate-limit hits are proven by the per-key rate-limit check (authentication/
test_admin_and_limits.py), which carries this id as well: exhausting a key's budget twice would
only slow the run down.
"""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.logs import LogSource, new_request_id, read_logs, since_now
from acceptance.support.platform_metrics import assert_comparable, platform_metrics
from acceptance.support.promtext import values_by
from service.waiting import poll_until

EVENTS = "platform_security_events_total"
STATUS_PATH = "/status/00000000000000000000000000000000"
# Webhook routes the ingestion part may expose: a request with a wrong secret must be refused.
WEBHOOKS = (
    ("/webhooks/huggingface", {"X-Webhook-Secret": "preflight-wrong-secret"}),
    (
        "/webhooks/github",
        {
            "X-Hub-Signature-256": "sha256=" + "0" * 64,
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "preflight-bad-sig",
        },
    ),
)


def _webhook_paths(anon_client: httpx.Client) -> list[str]:
    response = anon_client.get("/openapi.json")
    paths = response.json().get("paths", {}) if response.status_code == 200 else {}
    return [path for path, _ in WEBHOOKS if path in paths]


@pytest.mark.checklist("opsec.security-events")
def test_auth_failures_raise_events(
    anon_client: httpx.Client,
    client: httpx.Client,
    target: Target,
    log_source: LogSource,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Missing, invalid and forbidden keys (and bad webhook signatures) count and log an event."""
    since = since_now(config)
    read_before = platform_metrics(target, config, anon_client)
    before = values_by(read_before.samples, EVENTS, "event")
    ids = {what: new_request_id(f"sec-{what}") for what in ("missing", "invalid", "forbidden")}
    answers = {
        "missing": anon_client.get(STATUS_PATH, headers={"X-Request-ID": ids["missing"]}),
        "invalid": anon_client.get(
            STATUS_PATH,
            headers={"X-Request-ID": ids["invalid"], "Authorization": "Bearer preflight-not-a-key"},
        ),
        "forbidden": client.get("/admin/config", headers={"X-Request-ID": ids["forbidden"]}),
    }
    for path in _webhook_paths(anon_client):
        ids[path] = new_request_id("sec-webhook")
        headers = {**dict(WEBHOOKS)[path], "X-Request-ID": ids[path]}
        answers[path] = anon_client.post(path, json={"preflight": True}, headers=headers)
    statuses = {what: r.status_code for what, r in answers.items()}
    read_after = platform_metrics(target, config, anon_client)
    after = values_by(read_after.samples, EVENTS, "event")
    moved = {e: after[e] - before.get(e, 0.0) for e in after if after[e] > before.get(e, 0.0)}

    def logged() -> set[str] | None:
        found = {
            str(r.get("request_id"))
            for r in read_logs(log_source, since, streams=["app"]).records
            if r.get("logger") == "platform.security" and r.get("request_id") in ids.values()
        }
        return found if len(found) == len(ids) else None

    try:
        found = poll_until(
            logged,
            timeout=config.observability.log_wait_s,
            interval=log_source.poll_interval_s,
            message="a security log record per event",
        )
    except AssertionError:
        found = set()
    unlogged = [what for what, rid in ids.items() if rid not in found]
    evidence.add(statuses=statuses, events_moved=moved, unlogged=unlogged, **read_after.evidence())
    assert statuses["missing"] == 401 and statuses["invalid"] == 401, statuses
    assert statuses["forbidden"] == 403, statuses
    refused = [p for p in ids if p.startswith("/webhooks/") and statuses[p] not in (401, 403)]
    assert not refused, f"bad webhook signatures accepted: {refused}"
    assert not unlogged, f"no security log record for {unlogged}"
    assert_comparable(read_before, read_after)
    assert sum(moved.values()) >= len(ids), f"{EVENTS} grew by {moved} for {len(ids)} events"
