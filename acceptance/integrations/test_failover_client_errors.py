"""External Integrations: failover's negative case, a request the provider refuses as the
client's fault is not failed over.

Failover is for outages. A provider answering 400 (a prompt it cannot take, a parameter it
rejects) says the request is wrong; sending it to the next provider doubles the cost and hides
the client's mistake behind an answer from a model it did not expect. The client must get the
refusal, for a plain and for a streamed request. The reference stack's emulator is made to
refuse every inference request with 400 through its admin route; another target is not
verified (no hook makes its provider refuse requests on demand).
"""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.integrations.test_provider_failover import MESSAGES, _route
from acceptance.settings import SuiteConfig
from acceptance.support.faults import emulator_fault

CHAT_PATH = "/v1/chat/completions"


@pytest.mark.destructive
@pytest.mark.checklist("integrations.provider-failover")
def test_client_errors_are_not_failed_over(
    anon_client: httpx.Client,
    client: httpx.Client,
    target: Target,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """The primary answering 400: the client gets a 400 (plain and streamed), not an answer
    from the fallback."""
    model, primary = _route(anon_client, config, evidence)
    refuse = emulator_fault(
        target,
        config,
        primary,
        ({"error_rate": 1, "error_status": 400}, {"error_rate": 0, "error_status": None}),
        {"provider": primary, "model": model},
        f"no way to make {primary} refuse requests with 400 (reference stack only)",
    )
    answers: dict[str, str] = {}
    try:
        refuse.cause()
        for stream in (False, True):
            body = {"model": model, "messages": MESSAGES, "max_tokens": 2, "stream": stream}
            response = client.post(CHAT_PATH, json=body)
            served_by = response.headers.get("x-provider", "?")
            answers["stream" if stream else "plain"] = f"{response.status_code} from {served_by}"
    finally:
        refuse.clear()
    evidence.add(fault_hook=refuse.describe(), answers=answers)
    wrong = {kind: answer for kind, answer in answers.items() if not answer.startswith("400 ")}
    assert not wrong, f"a request {primary} refused with 400 was not refused to the client: {wrong}"
