"""External Integrations: failover's last resort breaking, the client is told.

With the primary down, the fallback serves; if the fallback then breaks in the middle of an
answer (Ollama ends its stream with an ``{"error": ...}`` line) and no provider can resume it,
the client must learn that its answer broke: an error event, or a stream without a finish. A
gateway that ends such a stream with a finish reason and ``[DONE]`` hands over the first tokens
as if they were the whole answer. The reference stack's fallback emulator is made to break
through its admin route; another target is not verified (no hook makes its fallback break
mid-stream on demand).
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.integrations.test_provider_failover import MESSAGES, _await_primary, _route
from acceptance.settings import SuiteConfig
from acceptance.support.faults import emulator_fault, provider_fault
from acceptance.support.providers import openai_client, providers_component

BREAK_AFTER_TOKENS = 3  # the fallback's answer breaks after this many tokens


def _stream(client: openai.OpenAI, model: str, max_tokens: int) -> dict[str, Any]:
    """What the client saw of one streamed answer: an API error, or the content and finish."""
    try:
        streamed = client.chat.completions.with_raw_response.create(
            model=model, messages=MESSAGES, max_tokens=max_tokens, stream=True
        )
        content, finish = "", None
        for chunk in streamed.parse():
            if chunk.choices:
                content += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
    except openai.APIError as exc:
        return {"error": type(exc).__name__, "message": str(exc)[:200]}
    served_by = streamed.headers.get("x-provider")
    return {"served_by": served_by, "content_chars": len(content), "finish_reason": finish}


@pytest.mark.destructive
@pytest.mark.checklist("integrations.provider-failover")
def test_fallback_breaking_mid_stream_reaches_the_client(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Primary down, the fallback breaking after a few tokens: the client gets an error (or a
    stream without a finish), never the broken answer as a complete one."""
    model, primary = _route(anon_client, config, evidence)
    fallback = ((providers_component(anon_client).get("routes") or {}).get(model) or [])[1]
    breaking = emulator_fault(
        target,
        config,
        fallback,
        (
            {
                "error_mid_stream": True,
                "error_after_tokens": BREAK_AFTER_TOKENS,
                "mid_stream_fault": "error",
            },
            {"error_mid_stream": False},
        ),
        {"provider": fallback, "model": model},
        f"no way to make {fallback} break mid-stream (reference stack only)",
    )
    down = provider_fault(target, config, primary, model)
    max_tokens = max(config.failover_max_tokens, 4 * BREAK_AFTER_TOKENS)
    with openai_client(target, config) as client:
        try:
            down.cause()
            breaking.cause()
            seen = _stream(client, model, max_tokens)
        finally:
            breaking.clear()
            down.clear()
        # The checks after this one find the route as it was: traffic back on the primary.
        back_after_s = _await_primary(client, model, primary, config)
    evidence.add(
        primary_back_after_s=back_after_s,
        fault_hooks=[down.describe(), breaking.describe()],
        break_after_tokens=BREAK_AFTER_TOKENS,
        max_tokens=max_tokens,
        client_saw=seen,
    )
    if "error" in seen:
        return  # told: the broken answer reached the client as an error
    assert seen["served_by"] == fallback, f"not served by {fallback} with {primary} down: {seen}"
    assert seen["finish_reason"] is None, (
        f"{fallback} broke after {BREAK_AFTER_TOKENS} tokens and the client got a complete"
        f" answer (finish_reason {seen['finish_reason']!r}): {seen}"
    )
