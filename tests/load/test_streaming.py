"""load/streaming.py: the one TTFT/ITL/tokens measurement, against the vLLM emulator's wire."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest

from load.streaming import StreamMeter, chat_body, measure_stream, measure_stream_async
from load.summary import summarize
from tests.support.emulators import LOAD_MODEL, Emulator

pytestmark = pytest.mark.timeout(60)


@contextlib.contextmanager
def _client(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=30.0) as client:
        client.get("/v1/models")  # pre-warm, as the users do
        yield client


def test_role_chunk_is_not_the_first_token(vllm_emulator: Emulator) -> None:
    """TTFT is at the first content delta (>= configured TTFT), not at the role-only chunk."""
    with _client(vllm_emulator) as client:
        result = measure_stream(client, chat_body(LOAD_MODEL, 20))
    assert result.ok and result.status == 200
    assert result.content_deltas == 20 and result.output_tokens == 20
    assert result.tokens_source == "usage"
    assert result.ttft_ms is not None and 100 <= result.ttft_ms < 100 + 80
    assert len(result.itl_ms) == 19
    assert result.finish_reason == "length"
    server = vllm_emulator.requests("/v1/chat/completions")[-1]
    # The client cannot see it before it is sent (ttft_ms is stamped after the write returned,
    # which on 2 cores can be after the woken reader ran).
    assert result.ttft_ms >= server["first_byte_ms"]


def test_decode_rate_excludes_prefill(vllm_emulator: Emulator) -> None:
    """Decode tokens/s is about 1/ITL; end-to-end tokens/s is lower because it includes TTFT."""
    vllm_emulator.configure(ttft_ms=200, itl_ms=20)
    with _client(vllm_emulator) as client:
        result = measure_stream(client, chat_body(LOAD_MODEL, 20))
    assert result.decode_tokens_per_s is not None and result.e2e_tokens_per_s is not None
    assert 40 <= result.decode_tokens_per_s <= 55
    assert result.tpot_ms is not None and 18 <= result.tpot_ms <= 25
    assert result.e2e_tokens_per_s < result.decode_tokens_per_s * 0.8


def test_multi_token_chunks_counted_from_usage(vllm_emulator: Emulator) -> None:
    """Four tokens per chunk: 5 deltas, 20 tokens (usage), decode rate still about 1/ITL."""
    vllm_emulator.configure(tokens_per_chunk=4, itl_ms=10)
    with _client(vllm_emulator) as client:
        result = measure_stream(client, chat_body(LOAD_MODEL, 20))
    assert result.content_deltas == 5
    assert result.output_tokens == 20 and result.tokens_source == "usage"
    assert result.decode_tokens_per_s is not None and 80 <= result.decode_tokens_per_s <= 110


def test_error_inside_a_200_stream(vllm_emulator: Emulator) -> None:
    """`data: {"error": ...}` after the 200 makes the request a failure with the message."""
    vllm_emulator.configure(error_mid_stream=True, error_after_tokens=3)
    with _client(vllm_emulator) as client:
        result = measure_stream(client, chat_body(LOAD_MODEL, 20))
    assert result.status == 200 and not result.ok
    assert result.error is not None and "Emulated error" in result.error
    assert result.content_deltas == 3


def test_http_error_and_transport_error(vllm_emulator: Emulator) -> None:
    """A 404 keeps the provider's message; a refused connection is a result, not an exception."""
    with _client(vllm_emulator) as client:
        missing = measure_stream(client, chat_body("no/such-model", 5))
    assert not missing.ok and missing.status == 404
    assert missing.error is not None and "does not exist" in missing.error
    with httpx.Client(base_url="http://127.0.0.1:9", timeout=2.0) as dead:
        refused = measure_stream(dead, chat_body(LOAD_MODEL, 5))
    assert not refused.ok and refused.status == 0 and "ConnectError" in (refused.error or "")


def test_async_twin_measures_the_same(vllm_emulator: Emulator) -> None:
    """measure_stream_async gives the same figures for concurrent streams."""

    async def run() -> list[float | None]:
        async with httpx.AsyncClient(base_url=vllm_emulator.url, timeout=30.0) as client:
            results = await asyncio.gather(
                *(measure_stream_async(client, chat_body(LOAD_MODEL, 10)) for _ in range(4))
            )
        assert all(r.ok and r.output_tokens == 10 for r in results)
        return [r.ttft_ms for r in results]

    ttfts = asyncio.run(run())
    assert all(t is not None and 100 <= t < 250 for t in ttfts)


CONTENT = '{"choices":[{"index":0,"delta":{"content":"a"}}]}'


def _sse(*events: str) -> bytes:
    return b"".join(f"data: {e}\n\n".encode() for e in events)


def test_fallback_count_is_flagged() -> None:
    """Without a usage chunk the content deltas are counted and the result says so."""
    meter = StreamMeter(start=0.0, wall_start=0.0)
    role = '{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}'
    meter.feed(_sse(role), 0.05)
    meter.feed(_sse(CONTENT), 0.1)
    meter.feed(_sse(CONTENT)[:20], 0.2)  # an event split across two reads
    meter.feed(_sse(CONTENT)[20:] + _sse(CONTENT, "[DONE]"), 0.3)
    result = meter.result(200, 0.31)
    assert result.ok and result.tokens_source == "fallback"
    assert result.output_tokens == 3 and result.content_deltas == 3
    assert result.ttft_ms == pytest.approx(100.0)
    assert result.itl_ms == pytest.approx([200.0, 0.0])


def test_missing_done_is_an_error() -> None:
    """A stream cut before [DONE] is a failure even with a 200 and tokens."""
    meter = StreamMeter(start=0.0, wall_start=0.0)
    meter.feed(_sse(CONTENT), 0.1)
    result = meter.result(200, 0.2)
    assert not result.ok and result.error == "stream ended without [DONE]"


def test_summary_goodput_counts_failures() -> None:
    """Goodput is over all requests: a failed one and a slow one both count against it."""
    fast, slow, failed = (StreamMeter(0.0, 0.0) for _ in range(3))
    for meter, t in ((fast, 0.1), (slow, 2.0), (failed, 0.1)):
        meter.feed(_sse(CONTENT), t)
        meter.feed(_sse(CONTENT, "[DONE]"), t + 0.02)
    results = [fast.result(200, 1.0), slow.result(200, 3.0), failed.result(500, 1.0)]
    summary = summarize(results, ttft_max_ms=1000, tokens_per_s_min=10)
    assert summary.requests == 3 and summary.errors == 1
    assert summary.goodput == pytest.approx(1 / 3)
    assert summary.ttft_ms["p50"] == pytest.approx(1050.0)
