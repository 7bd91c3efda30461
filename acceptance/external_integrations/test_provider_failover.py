"""External Integrations: with the primary provider down, the other serves within the error
budget, and traffic returns to the primary once it recovers."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
import openai
import pytest

from acceptance.config import SuiteConfig
from acceptance.fixtures import Evidence
from acceptance.providers import chat_model, configure, emulator, openai_client, providers_component
from acceptance.target import Target
from acceptance.verdicts import not_verified
from acceptance.waiting import poll_until

MESSAGES: list[Any] = [{"role": "user", "content": "ping"}]


def _served_by(client: openai.OpenAI, model: str, max_tokens: int, stream: bool) -> str:
    """The X-Provider of one request; an API or connection error propagates."""
    if stream:
        streamed = client.chat.completions.with_raw_response.create(
            model=model, messages=MESSAGES, max_tokens=max_tokens, stream=True
        )
        for _ in streamed.parse():  # the stream must complete, not just start
            pass
        return streamed.headers.get("x-provider", "?")
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=MESSAGES, max_tokens=max_tokens
    )
    raw.parse()
    return raw.headers.get("x-provider", "?")


@pytest.mark.destructive
@pytest.mark.checklist("integrations.provider-failover")
def test_failover_and_failback(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Primary refusing connections: N requests served by the fallback with errors within budget;
    primary back: traffic returns to it within the recovery timeout."""
    component = providers_component(anon_client)
    model = chat_model(config, component)
    route: list[str] = (component.get("routes") or {}).get(model) or []
    evidence.add(model=model, route=route)
    assert len(route) >= 2, f"no fallback provider configured for {model!r}: route {route}"
    primary = route[0]
    info = emulator(target, primary)
    if info is None or not info.get("admin_url"):
        not_verified(f"no admin route to take {primary} down (not the reference stack)")
    served: Counter[str] = Counter()
    errors: list[str] = []
    timeout = config.http_timeout_s
    with openai_client(target, config) as client:
        try:
            configure(info, timeout, outage="refuse")
            for n in range(config.failover_requests):
                try:
                    served[_served_by(client, model, config.chat_max_tokens, n % 2 == 1)] += 1
                except openai.OpenAIError as exc:
                    errors.append(type(exc).__name__)
            configure(info, timeout, outage="none")
            recovered_at = time.monotonic()
            poll_until(
                lambda: _served_by(client, model, config.chat_max_tokens, False) == primary,
                timeout=config.failover_recovery_timeout_s, interval=0.2,
                message=f"traffic back on {primary}", ignore=(openai.OpenAIError,),
            )  # fmt: skip
            recovery_s = round(time.monotonic() - recovered_at, 2)
        finally:
            configure(info, timeout, outage="none")
    evidence.add(
        served_during_outage=dict(served), errors=len(errors), error_kinds=sorted(set(errors)),
        error_budget=config.failover_error_budget, failback_s=recovery_s,
    )  # fmt: skip
    assert len(errors) <= config.failover_error_budget, (
        f"{len(errors)} of {config.failover_requests} requests failed during failover "
        f"(budget {config.failover_error_budget}): {sorted(set(errors))}"
    )
    assert served.get(primary, 0) == 0, f"{primary} was down but served {served[primary]}"
