"""External Integrations: with the primary provider down, the other serves within the error
budget, a stream in flight when the primary crashes still completes, and traffic returns to the
primary once it recovers.

The primary is taken down and brought back by the run's provider fault hooks (``[faults]
provider_down`` / ``provider_up``, else the reference stack's emulator admin route).
"""

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
from acceptance.support.faults import provider_fault
from acceptance.support.platform_metrics import MetricsUnavailable, platform_metrics
from acceptance.support.providers import (
    chat_model,
    emulator,
    new_request_id,
    openai_client,
    provider_requests,
    providers_component,
)
from service.waiting import poll_until

MESSAGES: list[Any] = [{"role": "user", "content": "ping"}]


def _served_by(
    client: openai.OpenAI,
    model: str,
    max_tokens: int,
    stream: bool,
    problems: list[str] | None = None,
) -> str:
    """The X-Provider of one request; an API or connection error propagates. With
    ``problems``, what is wrong with the answer itself is appended to it (a fallback that
    answers with an empty or mislabelled completion has not served the request)."""
    content, finish, used = "", None, None
    if stream:
        streamed = client.chat.completions.with_raw_response.create(
            model=model,
            messages=MESSAGES,
            max_tokens=max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in streamed.parse():  # the stream must complete, not just start
            if chunk.usage is not None:
                used = chunk.usage.completion_tokens
            if chunk.choices:
                content += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
        provider = streamed.headers.get("x-provider", "?")
    else:
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=MESSAGES, max_tokens=max_tokens
        )
        answer = raw.parse()
        if answer.choices:
            content = answer.choices[0].message.content or ""
            finish = answer.choices[0].finish_reason
        used = answer.usage.completion_tokens if answer.usage else None
        provider = raw.headers.get("x-provider", "?")
    if problems is not None:
        wrong = _answer_problem(content, finish, used, max_tokens)
        if wrong:
            problems.append(f"{provider} ({'stream' if stream else 'complete'}): {wrong}")
    return provider


def _answer_problem(content: str, finish: str | None, used: int | None, cap: int) -> str | None:
    """An answer must have content, a finish reason, usage, and say "length" when it stopped
    at max_tokens (a client that continues truncated answers relies on it)."""
    if not content:
        return "no content"
    if finish not in ("stop", "length"):
        return f"finish_reason {finish!r}"
    if used is None:
        return "no usage"
    if used >= cap and finish != "length":
        return f"stopped at max_tokens ({used}) with finish_reason {finish!r}"
    return None


def _route(anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence) -> tuple[str, str]:
    """The model and its primary; fails without a fallback, not verified without admin route."""
    component = providers_component(anon_client)
    model = chat_model(config, component)
    route: list[str] = (component.get("routes") or {}).get(model) or []
    evidence.add(model=model, route=route)
    assert len(route) >= 2, f"no fallback provider configured for {model!r}: route {route}"
    return model, route[0]


RESUMES = "platform_llm_stream_resumes_total"


def _resumes_from(
    target: Target, config: SuiteConfig, anon_client: httpx.Client, primary: str
) -> float | None:
    """Streams the target says it resumed after ``primary`` broke them, summed over its
    processes (whichever served the stream counted it); None when the target does not export
    the counter at all (declared without samples: none resumed yet, 0)."""
    try:
        read = platform_metrics(target, config, anon_client)
    except MetricsUnavailable:
        return None
    if not read.declares(RESUMES):
        return None
    return sum(
        s.value
        for s in read.samples
        if s.name == RESUMES and s.labels.get("from_provider") == primary
    )


def _await_primary(client: openai.OpenAI, model: str, primary: str, config: SuiteConfig) -> float:
    """Seconds until requests are served by the primary again, ``failover_failback_streak`` in
    a row (bounded by the config): behind a balancer each API process fails back on its own,
    and one answer from the primary says only that one of them has."""
    started = time.monotonic()
    poll_until(
        lambda: all(
            _served_by(client, model, config.failover_max_tokens, False) == primary
            for _ in range(config.failover_failback_streak)
        ),
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
    fault = provider_fault(target, config, primary, model)
    evidence.add(fault_hook=fault.describe())
    served: Counter[str] = Counter()
    errors: list[str] = []
    wrong_answers: list[str] = []
    with openai_client(target, config) as client:
        try:
            fault.cause()
            for n in range(config.failover_requests):
                # Routing is what is checked, not output: short answers keep the outage short.
                try:
                    stream = n % 2 == 1
                    cap = config.failover_max_tokens
                    served[_served_by(client, model, cap, stream, wrong_answers)] += 1
                except openai.OpenAIError as exc:
                    errors.append(type(exc).__name__)
            fault.clear()
            recovery_s = _await_primary(client, model, primary, config)
        finally:
            fault.clear()
    evidence.add(
        served_during_outage=dict(served),
        errors=len(errors),
        error_kinds=sorted(set(errors)),
        error_budget=config.failover_error_budget,
        failback_s=recovery_s,
        wrong_answers=wrong_answers,
    )
    assert len(errors) <= config.failover_error_budget, (
        f"{len(errors)} of {config.failover_requests} requests failed during failover "
        f"(budget {config.failover_error_budget}): {sorted(set(errors))}"
    )
    assert served.get(primary, 0) == 0, f"{primary} was down but served {served[primary]}"
    assert not wrong_answers, f"answers served during the outage are wrong: {wrong_answers}"


@pytest.mark.destructive
@pytest.mark.since("0.2.0")
@pytest.mark.checklist("integrations.provider-failover")
def test_stream_survives_primary_crash(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """The primary crashing (connections reset) while it streams an answer: the client still
    reads one complete stream, the rest continued by the fallback; then traffic returns."""
    model, primary = _route(anon_client, config, evidence)
    fault = provider_fault(target, config, primary, model)
    evidence.add(fault_hook=fault.describe())
    info = emulator(target, primary)  # ground truth of the cut, on a reference stack
    request_id = new_request_id()
    received: list[str] = []
    finish: str | None = None
    usage: Any = None
    heads: set[tuple[str, int, str]] = set()  # (id, created, model) of every chunk
    with openai_client(target, config) as client:
        _await_primary(client, model, primary, config)  # a previous check may have left it down
        resumes_before = _resumes_from(target, config, anon_client, primary)
        try:
            streamed = client.chat.completions.with_raw_response.create(
                model=model,
                messages=MESSAGES,
                max_tokens=config.chat_max_tokens,
                stream=True,
                stream_options={"include_usage": True},
                extra_headers={"X-Request-ID": request_id},
            )
            try:
                for chunk in streamed.parse():
                    usage = chunk.usage or usage
                    heads.add((chunk.id, chunk.created, chunk.model))
                    if not chunk.choices:
                        continue
                    if chunk.choices[0].delta.content:
                        received.append(chunk.choices[0].delta.content)
                        if len(received) == 1:
                            fault.cause()  # the crash, mid-stream
                    finish = chunk.choices[0].finish_reason or finish
                error = None
            except openai.OpenAIError as exc:
                error = f"{type(exc).__name__}: {exc}"[:200]
            fault.clear()
            recovery_s = _await_primary(client, model, primary, config)
        finally:
            fault.clear()
    resumes_after = _resumes_from(target, config, anon_client, primary)
    cut = _cut_mid_stream(info, request_id, config.http_timeout_s, resumes_before, resumes_after)
    evidence.add(
        stream_served_by=streamed.headers.get("x-provider"),
        content_chunks=len(received),
        finish_reason=finish,
        cut_mid_stream=cut,
        stream_error=error,
        failback_s=recovery_s,
        usage=usage.model_dump() if usage is not None else None,
    )
    if streamed.headers.get("x-provider") != primary:
        not_verified(f"the stream was not served by {primary}, so its crash could not break it")
    # A stream the client saw break fails whatever the cause; only a complete one needs the
    # proof that it really was cut (and did not just finish before the crash).
    assert error is None, (
        f"a stream in flight when {primary} crashed failed in the client (after "
        f"{len(received)} content chunks): {error}"
    )
    assert finish is not None, f"the stream broken by {primary}'s crash ended without a finish"
    # One stream to the client: the continuation keeps the broken stream's id, created, model.
    assert heads == {(*next(iter(heads))[:2], model)}, f"the stream's chunks differ: {heads}"
    # Usage counts both parts: every content chunk the client read is at least one token.
    assert usage is not None and usage.completion_tokens >= len(received), (
        f"the resumed stream's usage does not count what the client read ({len(received)} "
        f"content chunks): {usage}"
    )
    if cut is None:
        not_verified(
            f"no record of the cut: neither {primary}'s request log (reference stack) nor "
            f"{RESUMES} on the target's /metrics"
        )
    if not cut:
        not_verified(f"{primary} was not cut off mid-stream (the stream ended before the crash)")


def _cut_mid_stream(
    info: dict[str, Any] | None,
    request_id: str,
    timeout: float,
    resumes_before: float | None,
    resumes_after: float | None,
) -> bool | None:
    """Whether the primary's stream was cut before it finished: its own request log on the
    reference stack (ground truth), else the target's resume counter; None: nothing tells."""
    if info is not None:
        record = next(
            (r for r in provider_requests(info, timeout) if r.get("request_id") == request_id), {}
        )
        return bool(record) and record.get("finish_reason") is None
    if resumes_before is None or resumes_after is None:
        return None
    return resumes_after > resumes_before
