"""Operational Security: every request, answered or refused, leaves an access record."""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.logs import LogSource, new_request_id, read_logs, since_now
from service.waiting import poll_until

# Answered, refused and unknown requests alike: (client, method, path).
ROUTES = (
    ("anon", "GET", "/health/live"),
    ("anon", "GET", "/version"),
    ("anon", "GET", "/status/00000000000000000000000000000000"),  # 401
    ("api", "GET", "/status/00000000000000000000000000000000"),  # 404
    ("anon", "GET", "/preflight-no-such-route"),  # 404 unmatched
)


@pytest.mark.checklist("opsec.access-logs")
def test_each_request_has_access_record(
    anon_client: httpx.Client,
    client: httpx.Client,
    log_source: LogSource,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """N requests with known ids (answered, refused, unknown) give N access records."""
    since = since_now(config)
    sent: dict[str, int] = {}
    for i in range(config.observability.access_log_requests):
        who, method, path = ROUTES[i % len(ROUTES)]
        request_id = new_request_id(f"opsec{i}")
        http = anon_client if who == "anon" else client
        answer = http.request(method, path, headers={"X-Request-ID": request_id})
        sent[request_id] = answer.status_code

    def recorded() -> dict[str, object]:
        return {
            str(r["request_id"]): r.get("status")
            for r in read_logs(log_source, since, streams=["access"]).records
            if r.get("request_id") in sent
        }

    def logged() -> dict[str, object] | None:
        found = recorded()
        return found if len(found) == len(sent) else None

    try:
        found = poll_until(
            logged,
            timeout=config.observability.log_wait_s,
            interval=log_source.poll_interval_s,
            message="an access record per request",
        )
    except AssertionError:
        found = recorded()
    missing = sorted(set(sent) - set(found))
    evidence.add(
        sent=len(sent),
        recorded=len(found),
        statuses=sorted(set(sent.values())),
        missing=missing[:5],
    )
    assert not missing, f"{len(missing)} of {len(sent)} requests have no access record"
    wrong = {rid: (sent[rid], found[rid]) for rid in found if found[rid] != sent[rid]}
    assert not wrong, f"recorded status differs from the answer (sent, logged): {wrong}"
