"""How exactly the vLLM emulator keeps its configured TTFT and inter-token latency.

Boots `python -m service.emulators.vllm` on a free port, runs streams at each concurrency
level, measures client-side (request sent -> first content event; gaps between content events)
and prints a table of the error against the configuration. Run:

    python bench/emulator_timing.py [--ttft-ms 150 --itl-ms 20 --tokens 50 --levels 1 64]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from service.waiting import poll_until

BODY = {"model": "bench", "messages": [{"role": "user", "content": "timing"}], "stream": True}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def one_stream(client: httpx.AsyncClient, tokens: int) -> tuple[float, list[float]]:
    """TTFT and the inter-token gaps (seconds) of one stream, seen from the client."""
    start = time.perf_counter()
    stamps: list[float] = []
    body = BODY | {"max_tokens": tokens}
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        async for piece in response.aiter_bytes():
            now = time.perf_counter()
            for event in piece.split(b"\n\n"):
                if b'"content":"' in event and b'"content":""' not in event:
                    stamps.append(now)
    return stamps[0] - start, [b - a for a, b in itertools.pairwise(stamps)]


async def level(url: str, concurrency: int, tokens: int, rounds: int) -> dict[str, list[float]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    ttfts: list[float] = []
    gaps: list[float] = []
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        # Warm-up: open the pool's connections first, so TCP set-up is not counted as TTFT.
        await asyncio.gather(*(one_stream(client, 1) for _ in range(concurrency)))
        for _ in range(rounds):
            results = await asyncio.gather(
                *(one_stream(client, tokens) for _ in range(concurrency))
            )
            for ttft, stream_gaps in results:
                ttfts.append(ttft * 1000)
                gaps.extend(g * 1000 for g in stream_gaps)
    return {"ttft": ttfts, "itl": gaps}


def boot(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = workdir / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.emulators.vllm",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--model",
            "bench",
            "--ttft-ms",
            str(args.ttft_ms),
            "--itl-ms",
            str(args.itl_ms),
            "--output-tokens",
            str(args.tokens),
        ]
    )
    try:
        poll_until(
            port_file.exists,
            timeout=20,
            interval=0.05,
            message="the emulator to bind its port",
            abort=lambda: None if proc.poll() is None else "it exited",
        )
    except BaseException:
        proc.kill()
        raise
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"


def server_log(url: str) -> list[dict[str, Any]]:
    """The emulator's own TTFT per request (receipt to first content write), then a reset."""
    with httpx.Client(base_url=url) as admin:
        records: list[dict[str, Any]] = admin.get("/_emulator/requests").json()["requests"]
        admin.post("/_emulator/reset").raise_for_status()
    return records


def row(name: str, concurrency: int, target: float, values: list[float]) -> str:
    errors = [v - target for v in values]
    return (
        f"| {name} | {concurrency} | {len(values)} | {target:.0f} | "
        f"{statistics.median(values):.2f} | {percentile(errors, 5):+.2f} | "
        f"{statistics.median(errors):+.2f} | {percentile(errors, 95):+.2f} | "
        f"{percentile(errors, 99):+.2f} | {max(errors):+.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttft-ms", type=float, default=150.0)
    parser.add_argument("--itl-ms", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 64])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = boot(args, Path(tmp))
        try:
            lines = [
                "| metric | streams | samples | target ms | median ms | err p5 | "
                "err p50 | err p95 | err p99 | err max |",
                "|" + " --- |" * 10,
            ]
            for concurrency in args.levels:
                rounds = args.rounds * (10 if concurrency == 1 else 1)
                result = asyncio.run(level(url, concurrency, args.tokens, rounds))
                lines.append(row("TTFT", concurrency, args.ttft_ms, result["ttft"]))
                lines.append(row("ITL", concurrency, args.itl_ms, result["itl"]))
                server = [r["ttft_ms"] for r in server_log(url) if r["max_tokens"] == args.tokens]
                lines.append(row("TTFT server-side", concurrency, args.ttft_ms, server))
            sys.stdout.write("\n".join(lines) + "\n")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
