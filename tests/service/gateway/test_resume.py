"""A stream that breaks mid-way is continued on the route's next provider, in the same stream.

Real sockets throughout: the primary emulator is crashed (connections reset), made to send an
error event or to end its response early while the official `openai` client reads the stream.
Both emulators derive the same tokens from the same conversation, so a resumed stream must read
exactly like one that never broke.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from service.waiting import poll_until
from tests.support.gateway import API_KEY, FAST, MODEL, Gw, StartGateway

MESSAGES: list[Any] = [{"role": "user", "content": "Tell me about attention."}]
# Long enough to break mid-way: 40 tokens, 15 ms apart.
PACE = {"output_tokens": 40, "itl_ms": 15}


@contextlib.contextmanager
def _client(gw: Gw) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.base_url, api_key=API_KEY, max_retries=0) as client:
        yield client


def _whole_answer(gw: Gw, **params: Any) -> str:
    """The answer of an unbroken, non-streamed request (served by the route's first provider)."""
    with _client(gw) as client:
        answer = client.chat.completions.create(model=MODEL, messages=MESSAGES, **params)
    return answer.choices[0].message.content or ""


def _stream_breaking(gw: Gw, breaker: Any, **params: Any) -> tuple[str, list[Any], str]:
    """Stream, call `breaker()` after the third content chunk, read to the end.

    Returns the text, the chunks and X-Provider; any error the client raises propagates.
    """
    with _client(gw) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, stream=True, **params
        )
        chunks, pieces = [], []
        for chunk in raw.parse():
            chunks.append(chunk)
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
                if len(pieces) == 3:
                    breaker()
    return "".join(pieces), chunks, raw.headers["x-provider"]


def _continuations(gw: Gw, name: str) -> list[dict[str, Any]]:
    return [r for r in gw.chat_requests(name) if r.get("continued_tokens") is not None]


@pytest.mark.parametrize("fault", ["crash", "error_event", "closed_early"])
def test_broken_vllm_stream_is_continued_on_ollama(gateway: Gw, fault: str) -> None:
    """Reset, error event or a response ending without [DONE]: the client reads one complete
    stream (same id, usage summing both parts) identical to the unbroken answer."""
    gateway.vllm.configure(**PACE)
    gateway.ollama.configure(**PACE)
    expected = _whole_answer(gateway)
    if fault == "error_event":
        gateway.vllm.configure(error_mid_stream=True, error_after_tokens=10)
    elif fault == "closed_early":
        gateway.vllm.configure(
            error_mid_stream=True, error_after_tokens=10, mid_stream_fault="close"
        )

    def crash() -> None:
        if fault == "crash":
            gateway.vllm.configure(outage="refuse")

    text, chunks, provider = _stream_breaking(
        gateway, crash, stream_options={"include_usage": True}
    )
    assert text == expected
    assert provider == "vllm"
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    assert [c.choices[0].delta.role for c in chunks if c.choices].count("assistant") == 1
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 40
    (continuation,) = _continuations(gateway, "ollama")
    assert 3 <= continuation["continued_tokens"] < 40
    with gateway.http() as http:
        metrics = http.get("/metrics").text
        state = http.get("/health").json()["components"]["providers"]["providers"]["vllm"]
    assert 'platform_llm_stream_resumes_total{from_provider="vllm",to_provider="ollama"}' in metrics
    assert state["failures"] >= 1  # a stream that broke counts as a failure (cooldown)


def test_continuation_gets_the_tokens_left(gateway: Gw) -> None:
    """max_tokens bounds the whole answer: the continuation is asked for what is left."""
    gateway.vllm.configure(**PACE)
    gateway.ollama.configure(**PACE)
    expected = _whole_answer(gateway, max_tokens=25)
    text, chunks, _ = _stream_breaking(
        gateway, lambda: gateway.vllm.configure(outage="refuse"), max_tokens=25
    )
    assert text == expected
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    (continuation,) = _continuations(gateway, "ollama")
    assert continuation["max_tokens"] == 25 - continuation["continued_tokens"]


def test_ollama_stream_is_continued_on_vllm(start_gateway: StartGateway) -> None:
    """The other way round: vLLM is asked to continue_final_message (it refuses anything but
    the documented pair of flags) and its events keep the Ollama stream's id."""
    gw = start_gateway(chat_routes={MODEL: ["ollama", "vllm"]})
    gw.vllm.configure(**PACE)
    gw.ollama.configure(**PACE)
    expected = _whole_answer(gw)
    text, chunks, provider = _stream_breaking(gw, lambda: gw.ollama.configure(outage="refuse"))
    assert (text, provider) == (expected, "ollama")
    assert len({c.id for c in chunks}) == 1
    (continuation,) = _continuations(gw, "vllm")
    assert continuation["status"] == 200


@pytest.mark.parametrize("setup", ["resume_off", "no_fallback"])
def test_unresumable_break_ends_with_error_event(start_gateway: StartGateway, setup: str) -> None:
    """Resumption switched off, or no other provider: the client gets the error event."""
    if setup == "resume_off":
        gw = start_gateway(gateway={**FAST, "resume_streams": False})
    else:
        gw = start_gateway(chat_routes={MODEL: ["vllm"]})
    gw.vllm.configure(**PACE)
    with pytest.raises(openai.APIError):
        _stream_breaking(gw, lambda: gw.vllm.configure(outage="refuse"))
    assert _continuations(gw, "ollama") == []


def test_resumed_stream_names_both_providers_in_the_access_log(gateway: Gw) -> None:
    """X-Provider cannot change after the headers: the access record lists who served."""
    gateway.vllm.configure(**PACE)
    gateway.ollama.configure(**PACE)
    with httpx.Client(
        base_url=gateway.api.url, timeout=10, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as http:
        body = {"model": MODEL, "messages": MESSAGES, "stream": True}
        headers = {"X-Request-ID": "resumed-stream-1"}
        with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
            lines = response.iter_lines()
            for _ in range(4):
                next(lines)
            gateway.vllm.configure(outage="refuse")
            rest = [line for line in lines if line]
    assert rest[-1] == "data: [DONE]"
    record = gateway.api.wait_for_record(
        "access", lambda r: r.get("request_id") == "resumed-stream-1"
    )
    assert record["providers"] == ["vllm", "ollama"]
    poll_until(
        lambda: _continuations(gateway, "ollama"),
        timeout=5,
        interval=0.05,
        message="the continuation in Ollama's request log",
    )


@pytest.mark.parametrize("fault", ["no_first_event", "error_first"])
def test_failure_before_the_first_event_is_resumed(start_gateway: StartGateway, fault: str) -> None:
    """A resumable stream starts when the provider accepts it; a provider that then sends no
    event in time, or an error first, is replaced by the next one: the client sees no error."""
    gw = start_gateway(gateway={**FAST, "first_byte_timeout_s": 0.5})
    expected = _whole_answer(gw)
    if fault == "no_first_event":
        gw.vllm.configure(ttft_ms=5000)
    else:
        gw.vllm.configure(error_mid_stream=True, error_after_tokens=0)
    with _client(gw) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, stream=True
        )
        chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected
    assert raw.headers["x-provider"] == "vllm"  # the head went out when vLLM accepted
    (continuation,) = [r for r in gw.chat_requests("ollama") if r["status"] == 200]
    assert continuation["continued_tokens"] is None  # nothing to continue: a fresh answer
