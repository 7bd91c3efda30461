"""Core Endpoints: POST /v1/chat/completions answers the official OpenAI client, streamed and not,
through the intended provider (response header and the provider's own request log)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.providers import (
    chat_model,
    emulator,
    new_request_id,
    openai_client,
    providers_component,
    seen_by,
)
from service.waiting import poll_until

MESSAGES: list[Any] = [{"role": "user", "content": "Reply with a short greeting."}]


def _recorded(info: dict[str, Any], provider: str, request_id: str, timeout: float) -> bool:
    """Poll the provider's request log (the record is written when its answer ends)."""
    return poll_until(
        lambda: seen_by(info, provider, request_id, timeout),
        timeout=5.0,
        interval=0.1,
        message=f"{provider} to record request {request_id}",
    )


@pytest.mark.checklist("endpoints.chat")
def test_chat_through_intended_provider(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """A completion and a stream (with include_usage) carry content, usage and X-Provider; the
    request id reached the route's primary provider."""
    component = providers_component(anon_client)
    model = chat_model(config, component)
    route = (component.get("routes") or {}).get(model) or []
    intended = route[0] if route else None
    ids = {"whole": new_request_id(), "stream": new_request_id()}
    with openai_client(target, config) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=model,
            messages=MESSAGES,
            max_tokens=config.chat_max_tokens,
            extra_headers={"X-Request-ID": ids["whole"]},
        )
        whole = raw.parse()
        streamed = client.chat.completions.with_raw_response.create(
            model=model,
            messages=MESSAGES,
            max_tokens=config.chat_max_tokens,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"X-Request-ID": ids["stream"]},
        )
        chunks = list(streamed.parse())
        listed = client.models.list()
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = next((c.usage for c in chunks if c.usage is not None), None)
    served = {"whole": raw.headers.get("x-provider"), "stream": streamed.headers.get("x-provider")}
    evidence.add(
        model=model,
        intended_provider=intended,
        served_by=served,
        completion_tokens={
            "whole": whole.usage.completion_tokens if whole.usage else None,
            "stream": usage.completion_tokens if usage else None,
        },
        stream_chunks=len(chunks),
        request_ids=ids,
    )
    assert whole.choices and whole.choices[0].message.content, "empty completion"
    assert whole.usage is not None and whole.usage.completion_tokens > 0, "no usage reported"
    assert text, "the stream carried no content"
    assert usage is not None and usage.completion_tokens > 0, "stream: no usage chunk"
    assert all(served.values()), f"X-Provider missing: {served}"
    # The model list in OpenAI's shape, as its clients read it: a list object of model objects.
    kinds = {m.id: getattr(m, "object", None) for m in listed.data}
    shape = {"object": getattr(listed, "object", None), "models": kinds}
    evidence.add(model_list=shape)
    assert shape["object"] == "list" and kinds.get(model) == "model", (
        f"GET /v1/models is not OpenAI's model list or lacks {model!r}: {shape}"
    )
    # The answer names the model the client asked for, not the provider's own name for it.
    named = {whole.model} | {c.model for c in chunks}
    assert named == {model}, f"answers name {sorted(named)}, the request asked for {model!r}"
    if intended is not None:
        assert set(served.values()) == {intended}, f"served by {served}, route says {intended}"
    ground_truth: dict[str, bool] = {}
    for kind, request_id in ids.items():
        provider = served[kind] or ""
        info = emulator(target, provider)
        if info is None:
            continue
        ground_truth[kind] = _recorded(info, provider, request_id, config.http_timeout_s)
    evidence.add(provider_log_confirms=ground_truth or "no provider log (external target)")
