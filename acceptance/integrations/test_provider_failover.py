"""External Integrations: with the primary provider down, the other serves within the error
budget, a stream in flight when the primary crashes still completes, and traffic returns to the
primary once it recovers."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
import openai
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.providers import (
    chat_model,
    configure,
    emulator,
    new_request_id,
    openai_client,
    provider_requests,
    providers_component,
)
from service.waiting import poll_until

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


def _route(anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence) -> tuple[str, str]:
    """The model and its primary; fails without a fallback, not verified without admin route."""
    component = providers_component(anon_client)
    model = chat_model(config, component)
    route: list[str] = (component.get("routes") or {}).get(model) or []
    evidence.add(model=model, route=route)
    assert len(route) >= 2, f"no fallback provider configured for {model!r}: route {route}"
    return model, route[0]


def _primary_admin(target: Target, primary: str) -> dict[str, Any]:
    info = emulator(target, primary)
    if info is None or not info.get("admin_url"):
        not_verified(f"no admin route to take {primary} down (not the reference stack)")
    return info


def _await_primary(client: openai.OpenAI, model: str, primary: str, config: SuiteConfig) -> float:
    """Seconds until a request is served by the primary again (bounded by the config)."""
    started = time.monotonic()
    poll_until(
        lambda: _served_by(client, model, config.failover_max_tokens, False) == primary,
        timeout=config.failover_recovery_timeout_s,
        interval=0.2,
        message=f"traffic back on {primary}",
        ignore=(openai.OpenAIError,),
    )
    return round(time.monotonic() - started, 2)


@pytest.mark.destructive
@pytest.mark.checklist("integrations.provider-failover")
def test_failover_and_failback(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Primary refusing connections: N requests served by the fallback with errors within budget;
    primary back: traffic returns to it within the recovery timeout."""
    model, primary = _route(anon_client, config, evidence)
    info = _primary_admin(target, primary)
    served: Counter[str] = Counter()
    errors: list[str] = []
    timeout = config.http_timeout_s
    with openai_client(target, config) as client:
        try:
            configure(info, timeout, outage="refuse")
            for n in range(config.failover_requests):
                # Routing is what is checked, not output: short answers keep the outage short.
                try:
                    served[_served_by(client, model, config.failover_max_tokens, n % 2 == 1)] += 1
                except openai.OpenAIError as exc:
                    errors.append(type(exc).__name__)
            configure(info, timeout, outage="none")
            recovery_s = _await_primary(client, model, primary, config)
        finally:
            configure(info, timeout, outage="none")
    evidence.add(
        served_during_outage=dict(served),
        errors=len(errors),
        error_kinds=sorted(set(errors)),
        error_budget=config.failover_error_budget,
        failback_s=recovery_s,
    )
    assert len(errors) <= config.failover_error_budget, (
        f"{len(errors)} of {config.failover_requests} requests failed during failover "
        f"(budget {config.failover_error_budget}): {sorted(set(errors))}"
    )
    assert served.get(primary, 0) == 0, f"{primary} was down but served {served[primary]}"


@pytest.mark.destructive
@pytest.mark.since("0.2.0")
@pytest.mark.checklist("integrations.provider-failover")
def test_stream_survives_primary_crash(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """The primary crashing (connections reset) while it streams an answer: the client still
    reads one complete stream, the rest continued by the fallback; then traffic returns."""
    model, primary = _route(anon_client, config, evidence)
    info = _primary_admin(target, primary)
    timeout = config.http_timeout_s
    request_id = new_request_id()
    received: list[str] = []
    finish: str | None = None
    with openai_client(target, config) as client:
        _await_primary(client, model, primary, config)  # a previous check may have left it down
        try:
            streamed = client.chat.completions.with_raw_response.create(
                model=model,
                messages=MESSAGES,
                max_tokens=config.chat_max_tokens,
                stream=True,
                extra_headers={"X-Request-ID": request_id},
            )
            try:
                for chunk in streamed.parse():
                    if not chunk.choices:
                        continue
                    if chunk.choices[0].delta.content:
                        received.append(chunk.choices[0].delta.content)
                        if len(received) == 1:
                            configure(info, timeout, outage="refuse")  # the crash, mid-stream
                    finish = chunk.choices[0].finish_reason or finish
                error = None
            except openai.OpenAIError as exc:
                error = f"{type(exc).__name__}: {exc}"[:200]
            configure(info, timeout, outage="none")
            recovery_s = _await_primary(client, model, primary, config)
        finally:
            configure(info, timeout, outage="none")
    primary_record = next(
        (r for r in provider_requests(info, timeout) if r.get("request_id") == request_id), {}
    )
    evidence.add(
        stream_served_by=streamed.headers.get("x-provider"),
        content_chunks=len(received),
        finish_reason=finish,
        primary_tokens=primary_record.get("tokens"),
        stream_error=error,
        failback_s=recovery_s,
    )
    if streamed.headers.get("x-provider") != primary:
        not_verified(f"the stream was not served by {primary}, so its crash could not break it")
    if not primary_record or primary_record.get("finish_reason") is not None:
        not_verified(f"no record of {primary} cut off mid-stream (ended before the crash?)")
    assert error is None, (
        f"a stream in flight when {primary} crashed failed in the client (after "
        f"{len(received)} content chunks): {error}"
    )
    assert finish is not None, f"the stream broken by {primary}'s crash ended without a finish"
