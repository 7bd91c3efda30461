"""A small, bounded streaming load for the pytest latency checks (asyncio + httpx).

Locust is the load-testing tool; the release checks need something that runs inside pytest for
a few seconds and returns raw samples. ``streams`` workers each run streams back to back until
``duration_s`` has passed (the stream in flight is finished, not cut), all measured by
``load.streaming`` so the checks and Locust agree on every figure.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass

import httpx

from load.streaming import StreamResult, chat_body, measure_stream_async


@dataclass(frozen=True)
class ReferenceRun:
    """The streams of one run and how long the run took (for aggregate throughput)."""

    results: list[StreamResult]
    wall_s: float
    streams: int

    @property
    def aggregate_tokens_per_s(self) -> float:
        tokens = sum(r.output_tokens for r in self.results if r.ok)
        return tokens / self.wall_s if self.wall_s > 0 else 0.0


async def _run(
    client: httpx.AsyncClient, body: dict[str, object], streams: int, duration_s: float
) -> ReferenceRun:
    # Pre-warm one connection per stream, so TCP/TLS set-up is not part of any TTFT.
    await asyncio.gather(*(client.get("/v1/models") for _ in range(streams)))
    results: list[StreamResult] = []
    start = time.perf_counter()
    deadline = start + duration_s

    async def worker() -> None:
        while time.perf_counter() < deadline:
            results.append(await measure_stream_async(client, body))

    await asyncio.gather(*(worker() for _ in range(streams)))
    return ReferenceRun(results, time.perf_counter() - start, streams)


def run_reference_load(
    url: str,
    *,
    headers: dict[str, str],
    verify: ssl.SSLContext | bool,
    model: str,
    streams: int,
    duration_s: float,
    max_tokens: int,
    timeout_s: float = 120.0,
) -> ReferenceRun:
    """Run ``streams`` concurrent streaming completions for about ``duration_s`` seconds."""

    async def main() -> ReferenceRun:
        limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
        async with httpx.AsyncClient(
            base_url=url, headers=headers, verify=verify, timeout=timeout_s, limits=limits
        ) as client:
            return await _run(client, chat_body(model, max_tokens), streams, duration_s)

    return asyncio.run(main())
