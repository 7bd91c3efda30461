"""The chat gateway with the official clients: vLLM relayed, Ollama translated, usage, headers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import ollama
import openai
import pytest

from tests.support.gateway import API_KEY, MODEL, OLLAMA_MODEL, Gw, StartGateway

MESSAGES = [{"role": "user", "content": "Say something short."}]


@contextlib.contextmanager
def _client(gw: Gw) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.base_url, api_key=API_KEY, max_retries=0) as client:
        yield client


def test_sync_non_stream_through_vllm(gateway: Gw) -> None:
    """A plain completion is vLLM's answer under the public model name, with usage and header."""
    with _client(gateway) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, extra_headers={"X-Request-ID": "req-sync-1"}
        )
    completion = raw.parse()
    assert raw.headers["x-provider"] == "vllm"
    assert completion.choices[0].message.content
    assert completion.model == MODEL
    assert completion.usage is not None and completion.usage.completion_tokens == 12
    (record,) = gateway.chat_requests("vllm")
    assert record["request_id"] == "req-sync-1" and record["model"] == "org/Chat-Model-8B"


def test_sync_stream_with_usage_through_vllm(gateway: Gw) -> None:
    """Streaming relays the content deltas and, when asked, the usage chunk at the end."""
    with _client(gateway) as client:
        chunks = list(
            client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 12
    assert all(c.model == MODEL for c in chunks)


def test_stream_without_usage_request_has_no_usage_chunk(gateway: Gw) -> None:
    """The gateway asks vLLM for usage itself but does not pass it on unasked."""
    with _client(gateway) as client:
        chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_async_client_stream_and_not(gateway: Gw) -> None:
    """The async client works unchanged, streamed and not."""

    async def run() -> tuple[str, str]:
        client = openai.AsyncOpenAI(base_url=gateway.base_url, api_key=API_KEY, max_retries=0)
        try:
            whole = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
            stream = await client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True
            )
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return whole.choices[0].message.content or "", "".join(parts)
        finally:
            await client.close()

    whole, streamed = asyncio.run(run())
    assert whole and whole == streamed


def test_ollama_translation_matches_the_ollama_client(start_gateway: StartGateway) -> None:
    """Routed to Ollama, the OpenAI answer carries exactly what the ollama client reads directly."""
    gw = start_gateway(chat_routes={MODEL: ["ollama"]})
    with ollama.Client(host=gw.ollama.url) as native:
        direct = native.chat(model=OLLAMA_MODEL, messages=MESSAGES, options={"num_predict": 8})
    with _client(gw) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, max_tokens=8
        )
        chunks = list(
            client.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                max_tokens=8,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    completion = raw.parse()
    assert raw.headers["x-provider"] == "ollama"
    assert completion.choices[0].message.content == direct.message.content
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == direct.eval_count
    assert completion.usage.prompt_tokens == direct.prompt_eval_count
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == direct.message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "length" and not any(finishes[:-1])
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8
    sent = gw.chat_requests("ollama")[-1]
    assert sent["max_tokens"] == 8 and sent["model"] == OLLAMA_MODEL


def test_models_list(gateway: Gw) -> None:
    """GET /v1/models lists the public model names."""
    with _client(gateway) as client:
        assert [m.id for m in client.models.list()] == [MODEL]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": MODEL, "messages": []}, 422, None),
        ({"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]}, 422, None),
        ({"model": MODEL, "messages": "hello"}, 422, None),
        ({"model": "no-such-model", "messages": MESSAGES}, 404, "model_not_found"),
        ({"model": MODEL, "messages": MESSAGES, "max_tokens": 10**9}, 400, "max_tokens_too_large"),
        ({"model": MODEL, "messages": MESSAGES, "max_tokens": 0}, 422, None),
    ],
    ids=["no-messages", "bad-role", "messages-not-list", "unknown-model", "huge-cap", "zero-cap"],
)
def test_bad_input_refused_without_upstream_call(
    gateway: Gw, body: dict[str, object], status: int, code: str | None
) -> None:
    """Refused with an OpenAI error body, and neither provider saw a request."""
    with gateway.http() as http:
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    assert error["type"] == ("not_found_error" if status == 404 else "invalid_request_error")
    if code:
        assert error["code"] == code
    assert gateway.chat_requests("vllm") == [] and gateway.chat_requests("ollama") == []


def test_non_json_refused_without_upstream_call(gateway: Gw) -> None:
    """A body that is not JSON is a 4xx in the error format; no upstream call."""
    with gateway.http() as http:
        response = http.post(
            "/v1/chat/completions",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert gateway.chat_requests("vllm") == []


def test_missing_key_is_401(gateway: Gw) -> None:
    """The chat route needs an API key; OpenAPI declares it secured."""
    response = httpx.post(f"{gateway.api.url}/v1/chat/completions", json={})
    assert response.status_code == 401
    spec = httpx.get(f"{gateway.api.url}/openapi.json").json()
    assert spec["paths"]["/v1/chat/completions"]["post"].get("security")
