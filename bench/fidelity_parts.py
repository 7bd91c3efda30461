"""The pieces of `bench.emulator_fidelity`: an emulator, streams against it, and the replay.

Every request carries its own `X-Request-ID`; the emulator logs, for each, when it was handed
to the engine (`submitted_at`, on the machine's monotonic clock) and what the engine did. The
benchmark knows every prompt it sent, so it can give the offline engine exactly the same
submissions and compare the schedule predicted there with what its clients measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bench.gateway_parts import start_emulator
from load.streaming import StreamResult, measure_stream_async
from service.emulators import tokens as tok
from service.emulators.batching.engine import EngineRequest
from service.emulators.batching.params import EngineParams
from service.emulators.batching.prefix import block_hashes
from service.emulators.batching.replay import Arrival, Replay, replay

MODEL = "bench-model"


@dataclass(frozen=True)
class Job:
    """One request: its id, its messages, how many tokens it asks for (all of them: ignore_eos)."""

    request_id: str
    messages: list[dict[str, str]]
    max_tokens: int

    def body(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "messages": self.messages,
            "max_tokens": self.max_tokens,
            "ignore_eos": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        }


def words(count: int, salt: str) -> str:
    """`count` word tokens that no other salt shares (no accidental prefix hits). Only word
    characters: the emulator's tokenizer splits at punctuation."""
    word = re.sub(r"\W", "_", salt)
    return " ".join(f"w{word}_{i}" for i in range(count))


def user_job(request_id: str, prompt_tokens: int, max_tokens: int) -> Job:
    """A single user message of `prompt_tokens` as the server counts them (template included)."""
    text = words(max(prompt_tokens - 4, 1), request_id)
    return Job(request_id, [{"role": "user", "content": text}], max_tokens)


@contextlib.contextmanager
def emulator(*args: str) -> Iterator[tuple[str, int]]:
    """A vLLM emulator in batching mode with `args`: its URL and process id."""
    proc, url = start_emulator("vllm", "--model", MODEL, "--engine", "batching", *args)
    try:
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def admin(url: str, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{url}/_emulator{path}", timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


def records(url: str) -> dict[str, dict[str, Any]]:
    """The chat requests of the emulator's log by request id."""
    logged = admin(url, "GET", "/requests", params={"path": "/v1/chat/completions"})["requests"]
    return {r["request_id"]: r for r in logged}


def metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(name)


# What a client saw of one request: when it started (time.monotonic(), the emulator's clock
# too on one machine) and the measurement.
Measured = tuple[float, StreamResult]


async def _measure(client: httpx.AsyncClient, job: Job) -> Measured:
    start = time.monotonic()
    headers = {"X-Request-ID": job.request_id}
    return start, await measure_stream_async(
        client, job.body(), headers=headers, clock=time.monotonic
    )


async def run_streams(
    url: str, streams: Sequence[Sequence[Job]], ramp_s: float = 0.0
) -> dict[str, Measured]:
    """Each stream sends its jobs back to back (closed loop), stream k starting k / N of
    `ramp_s` after the first (as Locust spawns users); results by request id."""
    limits = httpx.Limits(max_connections=len(streams), max_keepalive_connections=len(streams))
    results: dict[str, Measured] = {}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:
        await asyncio.gather(*(client.get("/v1/models") for _ in streams))  # warm connections
        start = time.monotonic()

        async def stream(index: int, jobs: Sequence[Job]) -> None:
            await asyncio.sleep(max(start + ramp_s * index / len(streams) - time.monotonic(), 0))
            for job in jobs:
                results[job.request_id] = await _measure(client, job)

        await asyncio.gather(*(stream(i, jobs) for i, jobs in enumerate(streams)))
    return results


async def run_open_loop(url: str, jobs: Sequence[Job], rate: float) -> dict[str, Measured]:
    """Send job i at i / rate seconds whatever happened to the others (open loop)."""
    results: dict[str, Measured] = {}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=600) as client:
        start = time.monotonic()

        async def send(index: int, job: Job) -> None:
            await asyncio.sleep(max(start + index / rate - time.monotonic(), 0))
            results[job.request_id] = await _measure(client, job)

        await asyncio.gather(*(send(i, job) for i, job in enumerate(jobs)))
    return results


def predicted(
    jobs: Sequence[Job], logged: dict[str, dict[str, Any]], params: EngineParams
) -> Replay:
    """The offline engine's schedule for the same submissions as the emulator's."""
    arrivals = []
    for job in jobs:
        prompt = tok.chat_tokens(job.messages)
        hashes = block_hashes(prompt, params.cache.block_size)
        request = EngineRequest(job.request_id, len(prompt), job.max_tokens, hashes)
        arrivals.append(Arrival(request, logged[job.request_id]["submitted_at"]))
    return replay(arrivals, params)


@dataclass(frozen=True)
class Pair:
    """Measured (client) against predicted (model) for one request; milliseconds."""

    request_id: str
    ttft: float
    ttft_model: float
    gaps: list[float]
    gaps_model: list[float]
    engine_exact: bool  # the emulator's own schedule equals the replay's
    # The TTFT difference split: client start -> the emulator's parser; the emulator's first
    # write after its due time; that write -> the client has it.
    request_leg: float
    lateness: float
    response_leg: float


def pairs(
    jobs: Sequence[Job],
    results: dict[str, Measured],
    logged: dict[str, dict[str, Any]],
    model: Replay,
) -> list[Pair]:
    out = []
    for job in jobs:
        (start, result), record = results[job.request_id], logged[job.request_id]
        if record["prompt_tokens"] != len(tok.chat_tokens(job.messages)):
            raise RuntimeError(f"{job.request_id}: the server counted another prompt length")
        prediction = model.requests[job.request_id]
        due = prediction.due(model.delivery_s)
        if not result.ok or result.ttft_ms is None or not due:
            raise RuntimeError(f"{job.request_id}: {result.error or 'no tokens predicted'}")
        t0 = record["admitted_at"] - record["admitted_ms"] / 1000
        engine_first = record["first_token_engine_ms"]
        exact = abs((prediction.produced[0] - t0) * 1000 - engine_first) < 0.002
        model_gaps = [(b - a) * 1000 for a, b in itertools.pairwise(due)]
        write = t0 + record["ttft_ms"] / 1000
        legs = (
            (t0 - start) * 1000,
            record["ttft_ms"] - record["first_token_due_ms"],
            (start + result.ttft_ms / 1000 - write) * 1000,
        )
        out.append(
            Pair(
                job.request_id,
                result.ttft_ms,
                (due[0] - t0) * 1000,
                result.itl_ms,
                model_gaps,
                exact,
                *legs,
            )
        )
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (load.stats' definition)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": statistics.fmean(values),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (from /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # clock ticks (USER_HZ = 100)
