"""The vLLM emulator against the official `openai` client: what a real vLLM would answer."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from service.waiting import poll_until
from tests.support.emulators import Emulator

pytestmark = pytest.mark.timeout(60)
MODEL = "test/model"
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Say something about attention."}
]


def client(emulator: Emulator, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{emulator.url}/v1", api_key="sk-test", max_retries=0, **kwargs)  # type: ignore[arg-type]  # only timeout/headers are passed


def test_non_stream_answer_and_usage(vllm: Emulator) -> None:
    """A plain completion has vLLM's fields, content of output_tokens tokens, and usage."""
    with client(vllm) as api:
        result = api.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert result.id.startswith("chatcmpl-")
    assert result.object == "chat.completion"
    choice = result.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    assert len(choice.message.content.split()) == 20  # type: ignore[union-attr]  # content is set
    assert result.usage is not None
    assert result.usage.completion_tokens == 20
    assert result.usage.total_tokens == result.usage.prompt_tokens + 20


def test_stream_chunks_and_usage_chunk(vllm: Emulator) -> None:
    """Role chunk first, one token per chunk, finish on the last, then choices=[] with usage."""
    with client(vllm) as api:
        whole = api.chat.completions.create(model=MODEL, messages=MESSAGES)
        chunks = list(
            api.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    content_chunks = [c for c in chunks[1:] if c.choices]
    assert len(content_chunks) == 20
    assert content_chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in content_chunks[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in content_chunks)
    assert text == whole.choices[0].message.content  # deterministic from the prompt
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 20


def test_async_stream_honours_max_tokens(vllm: Emulator) -> None:
    """The async client streams too; max_tokens caps the output and ends it with "length"."""

    async def run() -> list[str]:
        async with openai.AsyncOpenAI(base_url=f"{vllm.url}/v1", api_key="k", max_retries=0) as api:
            stream = await api.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, max_tokens=7
            )
            reasons, pieces = [], []
            async for chunk in stream:
                if chunk.choices:
                    pieces.append(chunk.choices[0].delta.content or "")
                    reasons.append(chunk.choices[0].finish_reason)
            assert reasons[-1] == "length"
            return [p for p in pieces if p]

    assert len(asyncio.run(run())) == 7


def test_unknown_model_is_404_in_vllm_format(vllm: Emulator) -> None:
    """vLLM's flat error body and message for a model it does not serve."""
    response = httpx.post(
        f"{vllm.url}/v1/chat/completions", json={"model": "x", "messages": MESSAGES}
    )
    assert response.status_code == 404
    assert response.json() == {
        "object": "error",
        "message": "The model `x` does not exist.",
        "type": "NotFoundError",
        "param": None,
        "code": 404,
    }
    with client(vllm) as api, pytest.raises(openai.NotFoundError):
        api.chat.completions.create(model="x", messages=MESSAGES)


def test_models_health_version_metrics(vllm: Emulator) -> None:
    """The side routes a router and Prometheus use."""
    with client(vllm) as api:
        models = api.models.list()
        api.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=3)
    assert [m.id for m in models.data] == [MODEL]
    assert models.data[0].owned_by == "vllm"
    health = httpx.get(f"{vllm.url}/health")
    assert health.status_code == 200 and health.content == b""
    assert "version" in httpx.get(f"{vllm.url}/version").json()
    metrics = httpx.get(f"{vllm.url}/metrics").text
    for name in (
        "vllm:num_requests_running",
        "vllm:kv_cache_usage_perc",
        "vllm:gpu_cache_usage_perc",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:e2e_request_latency_seconds_count",
        "vllm:generation_tokens_total",
        "DCGM_FI_DEV_GPU_UTIL",
    ):
        assert name in metrics
    assert (
        "vllm:request_success_total"
        f'{{engine="0",finished_reason="length",model_name="{MODEL}"}} 1.0' in metrics
    )


def test_configured_gauges_are_exported(vllm: Emulator) -> None:
    """GPU utilisation and KV-cache usage set at run time appear in /metrics."""
    vllm.configure(gpu_util=87.5, kv_cache_usage=0.42)
    metrics = httpx.get(f"{vllm.url}/metrics").text
    assert "vllm:kv_cache_usage_perc{" in metrics and "} 0.42" in metrics
    assert "} 87.5" in metrics


def test_error_rate_one_raises_internal_server_error(vllm: Emulator) -> None:
    """error_rate 1.0 turns every completion into a 500 the client maps to its exception."""
    vllm.configure(error_rate=1.0, error_status=500)
    with client(vllm) as api, pytest.raises(openai.InternalServerError):
        api.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert vllm.requests("/v1/chat/completions")[-1]["fault"] == "injected"


def test_outage_modes(vllm: Emulator) -> None:
    """ "503" answers 503 everywhere; "refuse" resets connections; admin routes keep working."""
    vllm.configure(outage="503")
    assert httpx.get(f"{vllm.url}/health").status_code == 503
    vllm.configure(outage="refuse")
    with client(vllm) as api, pytest.raises(openai.APIConnectionError):
        api.chat.completions.create(model=MODEL, messages=MESSAGES)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{vllm.url}/health")
    vllm.configure(outage=False)
    assert httpx.get(f"{vllm.url}/health").status_code == 200


def test_slow_start_answers_loading_then_ready(vllm: Emulator) -> None:
    """During slow start every route answers 503; afterwards the server is ready."""
    vllm.configure(slow_start_s=0.5)
    response = httpx.get(f"{vllm.url}/health")
    assert response.status_code == 503
    assert "loading" in response.json()["message"]
    poll_until(
        lambda: httpx.get(f"{vllm.url}/health").status_code == 200,
        timeout=5,
        interval=0.05,
        message="the emulator to finish loading",
    )


def test_error_mid_stream_raises_in_client(vllm: Emulator) -> None:
    """An error event inside a 200 stream surfaces as an APIError while iterating."""
    vllm.configure(error_mid_stream=True, error_after_tokens=3)
    with client(vllm) as api:
        stream = api.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        with pytest.raises(openai.APIError):
            for _ in stream:
                pass


def test_request_log_records_request_id_and_redacts_credentials(vllm: Emulator) -> None:
    """The ground-truth log has X-Request-ID, the stream flag and tokens, never the key."""
    with client(vllm) as api:
        list(
            api.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                stream=True,
                max_tokens=4,
                extra_headers={"X-Request-ID": "req-123"},
            )
        )
    record = vllm.requests("/v1/chat/completions")[-1]
    assert record["request_id"] == "req-123"
    assert record["headers"]["authorization"] == "[redacted]"
    assert record["stream"] is True and record["tokens"] == 4 and record["status"] == 200
    assert record["ttft_ms"] >= 150
    lines = [json.loads(line) for line in vllm.requests_log.read_text().splitlines()]
    assert any(line["request_id"] == "req-123" for line in lines)
    assert "sk-test" not in vllm.requests_log.read_text()


def test_ttft_within_25ms_of_configured(vllm: Emulator) -> None:
    """Client-side TTFT (request sent to first content token) tracks ttft_ms."""
    measured = []
    with client(vllm) as api:
        for _ in range(5):
            start = time.perf_counter()
            for chunk in api.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                stream=True,
                max_tokens=2,
            ):
                if chunk.choices and chunk.choices[0].delta.content:
                    measured.append((time.perf_counter() - start) * 1000)
                    break
    assert abs(statistics.median(measured) - 150) <= 25, measured


def test_admin_rejects_bad_patch(vllm: Emulator) -> None:
    """A typo in a patch is a 400 and changes nothing."""
    response = vllm.admin.post("/_emulator/config", json={"ttft_ms": 10, "ttft": 5})
    assert response.status_code == 400
    assert vllm.admin.get("/_emulator/config").json()["ttft_ms"] == 150
