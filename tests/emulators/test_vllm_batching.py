"""The vLLM emulator in batching mode, through the official `openai` client: load, prompt
length and the prefix cache change what a client sees, as the engine's record and metrics say.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from service.emulators.batching.params import CostModel
from service.waiting import poll_until
from tests.support.emulators import Emulator, running_emulator

pytestmark = pytest.mark.timeout(120)
MODEL = "test/model"
SCALE = 3.5  # the reference stack's time scale
COST = CostModel(time_scale=SCALE)


@pytest.fixture(scope="module")
def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    flags = ("--model", MODEL, "--engine", "batching", "--time-scale", str(SCALE))
    workdir = tmp_path_factory.mktemp("vllm-batching")
    with running_emulator("vllm", workdir, *flags, "--output-tokens", "20") as emulator:
        yield emulator


@pytest.fixture
def vllm(_server: Emulator) -> Emulator:
    _server.admin.post("/_emulator/reset").raise_for_status()
    return _server


def words(count: int, salt: str = "") -> str:
    """A prompt of `count` distinct word tokens (no accidental prefix sharing across salts)."""
    return " ".join(f"w{salt}{i}" for i in range(count))


def stream(api: openai.OpenAI, content: str, max_tokens: int = 20) -> tuple[float, int, str]:
    """Client TTFT (s), content chunks, request id of one streamed answer."""
    request_id = f"t-{time.monotonic_ns()}"
    start = time.perf_counter()
    first, chunks = 0.0, 0
    for chunk in api.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": content}],
        stream=True,
        max_tokens=max_tokens,
        extra_headers={"X-Request-ID": request_id},
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            chunks += 1
            first = first or time.perf_counter() - start
    return first, chunks, request_id


def record(vllm: Emulator, request_id: str) -> dict[str, Any]:
    records = [r for r in vllm.requests("/v1/chat/completions") if r["request_id"] == request_id]
    assert len(records) == 1, records
    return records[0]


def metric(vllm: Emulator, name: str) -> float:
    """One series' value from /metrics (the emulator has a single label set per name)."""
    for line in httpx.get(f"{vllm.url}/metrics").text.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exported")


def test_stream_and_its_recorded_schedule(vllm: Emulator) -> None:
    """Every token arrives; the record orders arrival, admission, scheduling, the prefill's end
    and the first write, and the first write is when the engine said it was due."""
    with openai.OpenAI(base_url=f"{vllm.url}/v1", api_key="k", max_retries=0) as api:
        _, chunks, request_id = stream(api, words(100))
    rec = record(vllm, request_id)
    assert chunks == 20 == rec["engine_tokens"] and rec["engine"] == "batching"
    assert 0 < rec["admitted_ms"] <= rec["scheduled_ms"] < rec["first_token_engine_ms"]
    assert rec["first_token_due_ms"] == pytest.approx(
        rec["first_token_engine_ms"] + COST.delivery_s() * 1000, abs=0.01
    )
    assert rec["first_token_due_ms"] <= rec["ttft_ms"] < rec["first_token_due_ms"] + 25
    assert rec["preemptions"] == 0 and rec["aborted_ms"] is None
    # An idle engine: one prefill step, then one decode step per token.
    prompt = rec["prompt_tokens"]
    prefill_ms = COST.step_s(prompt, 0, prompt) * 1000
    assert rec["first_token_engine_ms"] - rec["scheduled_ms"] == pytest.approx(prefill_ms, abs=0.01)
    decode_ms = COST.step_s(0, 1, 0) * 1000
    assert rec["last_token_due_ms"] - rec["first_token_due_ms"] == pytest.approx(
        19 * decode_ms, rel=0.01
    )


def test_ttft_grows_with_prompt_length(vllm: Emulator) -> None:
    """Idle engine, prompts of 100 to 4000 tokens: the prefill step grows by the per-token cost."""
    ttfts = []
    with openai.OpenAI(base_url=f"{vllm.url}/v1", api_key="k", max_retries=0) as api:
        for length in (100, 1000, 4000):
            _, _, request_id = stream(api, words(length, salt=str(length)), max_tokens=2)
            ttfts.append(record(vllm, request_id)["ttft_ms"])
    assert ttfts == sorted(ttfts)
    per_token_ms = COST.prefill_us_per_token * SCALE / 1000
    assert ttfts[2] - ttfts[0] == pytest.approx(3900 * per_token_ms, rel=0.25)


def test_shared_prefix_hits_the_cache(vllm: Emulator) -> None:
    """The same 2000-token prompt twice: the second finds all but its last block cached, is
    counted in vllm:prefix_cache_hits, and gets its first token sooner."""
    prompt = words(2000, salt="p")
    with openai.OpenAI(base_url=f"{vllm.url}/v1", api_key="k", max_retries=0) as api:
        cold = record(vllm, stream(api, prompt, max_tokens=2)[2])
        warm = record(vllm, stream(api, prompt, max_tokens=2)[2])
    assert cold["cached_tokens"] == 0
    assert warm["prompt_tokens"] - 16 <= warm["cached_tokens"] < warm["prompt_tokens"]
    assert warm["ttft_ms"] < cold["ttft_ms"] - 50
    assert metric(vllm, "vllm:prefix_cache_hits_total") == warm["cached_tokens"]
    assert metric(vllm, "vllm:prefix_cache_queries_total") == 2 * warm["prompt_tokens"]


def test_max_num_seqs_makes_requests_wait(vllm: Emulator) -> None:
    """Six concurrent streams with max_num_seqs 2: at most two run, the others wait (gauges and
    records agree), and all finish."""
    vllm.configure(max_num_seqs=2)
    seen: list[dict[str, Any]] = []
    stop_watch = threading.Event()

    def watch() -> None:
        with httpx.Client(base_url=vllm.url) as admin:
            while not stop_watch.is_set():
                seen.append(admin.get("/_emulator/state").json())
                stop_watch.wait(0.02)  # poll interval

    async def run() -> list[int]:
        async with openai.AsyncOpenAI(base_url=f"{vllm.url}/v1", api_key="k", max_retries=0) as api:

            async def one(n: int) -> int:
                chunks = 0
                async for chunk in await api.chat.completions.create(
                    model=MODEL,
                    messages=[{"role": "user", "content": words(50, str(n))}],
                    stream=True,
                ):
                    chunks += bool(chunk.choices and chunk.choices[0].delta.content)
                return chunks

            return await asyncio.gather(*(one(n) for n in range(6)))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert asyncio.run(run()) == [20] * 6
    finally:
        stop_watch.set()
        watcher.join()
    assert max(s["engine_running"] for s in seen) == 2
    assert max(s["engine_waiting"] for s in seen) >= 1
    waited = [r["scheduled_ms"] - r["admitted_ms"] for r in vllm.requests("/v1/chat/completions")]
    assert sum(w > 100 for w in waited) >= 3  # queued behind a whole answer (~400 ms)


def test_small_cache_preempts_and_recomputes(vllm: Emulator) -> None:
    """Four answers that outgrow a 24-block cache: some are preempted (counted), recomputed,
    and every client still gets every token once."""
    vllm.configure(num_gpu_blocks=24)  # 384 tokens; applies now, the engine is idle

    async def run() -> list[str]:
        async with openai.AsyncOpenAI(base_url=f"{vllm.url}/v1", api_key="k", max_retries=0) as api:

            async def one(n: int) -> str:
                answer = await api.chat.completions.create(
                    model=MODEL,
                    messages=[{"role": "user", "content": words(60, str(n))}],
                    max_tokens=60,
                    extra_body={"ignore_eos": True},
                )
                return answer.choices[0].message.content or ""

            return await asyncio.gather(*(one(n) for n in range(4)))

    answers = asyncio.run(run())
    assert [len(a.split()) for a in answers] == [60] * 4
    records = vllm.requests("/v1/chat/completions")
    assert sum(r["preemptions"] for r in records) == metric(vllm, "vllm:num_preemptions_total") > 0


def test_request_too_large_for_the_cache_is_refused(vllm: Emulator) -> None:
    vllm.configure(num_gpu_blocks=2)
    api = openai.OpenAI(base_url=f"{vllm.url}/v1", api_key="k", max_retries=0)
    with api, pytest.raises(openai.BadRequestError, match="exceed the KV cache"):
        api.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": words(40)}], max_tokens=5
        )


def test_client_leaving_a_whole_answer_aborts_it(vllm: Emulator) -> None:
    """A non-streaming client that times out: the engine drops the request (as vLLM does)."""
    vllm.configure(output_tokens=400)  # about 8 s of decoding
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{vllm.url}/v1/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
            timeout=httpx.Timeout(10.0, read=0.5),
        )
    records = poll_until(
        lambda: vllm.requests("/v1/chat/completions"),
        timeout=10,
        interval=0.05,
        message="the aborted request to be logged",
    )
    assert records[0]["disconnected"] and records[0]["aborted_ms"] is not None
    assert records[0]["engine_tokens"] < 400


def test_engine_settings_are_validated(vllm: Emulator) -> None:
    for patch in (
        {"engine": "fast"},
        {"time_scale": 0},
        {"enable_prefix_caching": "yes"},
        {"max_num_seqs": 0},
        {"block_size": 2.5},
    ):
        response = vllm.admin.post("/_emulator/config", json=patch)
        assert response.status_code == 400, patch
    assert vllm.admin.get("/_emulator/config").json()["engine"] == "batching"


def test_switching_to_constant_mode_at_run_time(vllm: Emulator) -> None:
    """engine=constant brings back the fixed TTFT (the accuracy benchmarks' mode)."""
    vllm.configure(engine="constant", ttft_ms=300)
    with openai.OpenAI(base_url=f"{vllm.url}/v1", api_key="k", max_retries=0) as api:
        rec = record(vllm, stream(api, words(10), max_tokens=2)[2])
    assert rec["ttft_ms"] >= 300 and "engine" not in rec


def test_empty_answer_waits_for_its_prefill(vllm: Emulator) -> None:
    """A model that answers nothing still reads the prompt first: the closing chunk comes after
    the prefill step and the delivery delay, not at once."""
    vllm.configure(output_tokens=0)
    with openai.OpenAI(base_url=f"{vllm.url}/v1", api_key="k", max_retries=0) as api:
        chunks = list(
            api.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": words(500)}], stream=True
            )
        )
    assert chunks[-1].choices[0].finish_reason == "stop"
    rec = vllm.requests("/v1/chat/completions")[0]
    prefill_ms = COST.step_s(rec["prompt_tokens"], 0, 0) * 1000
    assert rec["engine_tokens"] == 0 and rec["scheduled_ms"] is not None
    assert rec["first_byte_ms"] >= rec["scheduled_ms"] + prefill_ms
