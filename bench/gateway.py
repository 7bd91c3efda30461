"""Gateway benchmarks: overhead against the emulator directly, and failover under load.

    python -m bench.gateway overhead [--requests 60] [--concurrency 1 8]
    python -m bench.gateway failover [--streams 50] [--mode refuse|503]

`overhead` streams the same requests directly to the vLLM emulator and through the gateway,
interleaved in one run, and compares TTFT p50 (first content delta) and decode tokens/s
((n-1)/(t_last-t_first)). `failover` keeps N streams running, takes the primary down for a
while, and counts client-visible errors and when traffic returns to the primary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import KEYS, free_port

MODEL = "bench-model"
API_KEY = "b" * 32
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def _wait(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 20.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # start-up polling, bounded by the deadline
    raise RuntimeError(f"{url} not ready")


def start(kind: str, workdir: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [sys.executable, "-m", f"service.emulators.{kind}", "--port", str(port), *args]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait(f"{url}/_emulator/state", proc)
    return proc, url


def start_api(workdir: Path, providers: dict[str, Any]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ, **KEYS,
        "PLATFORM_ENVIRONMENT": "local", "PLATFORM_RATE_LIMIT_ENABLED": "false",
        "PLATFORM_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # unused on the chat path
        "PLATFORM_DATA_DIR": str(workdir / "data"), "PLATFORM_LOG_DIR": str(workdir / "logs"),
        "PLATFORM_PROVIDERS": json.dumps(providers),
        "PLATFORM_GATEWAY": json.dumps({"cooldown_s": 2.0, "probe_interval_s": 0.25}),
    }  # fmt: skip
    argv = [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory", "--port",
            str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait(f"{url}/health/live", proc)
    return proc, url


async def one_stream(client: httpx.AsyncClient, url: str, model: str) -> dict[str, Any]:
    """TTFT, decode tokens/s and who served, for one streamed request."""
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], "stream": True}
    t0 = time.perf_counter()
    times: list[float] = []
    async with client.stream("POST", url, json=body, headers=HEADERS) as response:
        if response.status_code != 200:
            return {"error": f"HTTP {response.status_code}"}
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            if "error" in data:
                return {"error": "error event"}
            if any((c.get("delta") or {}).get("content") for c in data.get("choices", [])):
                times.append(time.perf_counter())
    if not times:
        return {"error": "no content"}
    decode = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {"ttft": times[0] - t0, "tps": decode,
            "provider": response.headers.get("x-provider", "direct")}  # fmt: skip


async def overhead(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        vproc, vurl = start("vllm", work, "--model", "org/model", "--ttft-ms", "150",
                            "--itl-ms", "20", "--output-tokens", "50")  # fmt: skip
        providers = {"vllm": {"kind": "vllm", "base_url": vurl, "models": {MODEL: "org/model"}}}
        aproc, aurl = start_api(work, providers)
        try:
            for concurrency in args.concurrency:
                results: dict[str, list[dict[str, Any]]] = {"direct": [], "gateway": []}
                limits = httpx.Limits(max_connections=concurrency * 2)
                async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                    targets = {"direct": (f"{vurl}/v1/chat/completions", "org/model"),
                               "gateway": (f"{aurl}/v1/chat/completions", MODEL)}  # fmt: skip
                    for url, model in targets.values():  # warm the connections
                        await asyncio.gather(*(one_stream(client, url, model)
                                               for _ in range(concurrency)))  # fmt: skip
                    for _ in range(args.requests // concurrency):
                        for name, (url, model) in targets.items():  # interleaved
                            batch = await asyncio.gather(
                                *(one_stream(client, url, model) for _ in range(concurrency))
                            )
                            results[name] += batch
                _report_overhead(concurrency, results)
        finally:
            for proc in (aproc, vproc):
                proc.terminate()
                proc.wait(10)


def _report_overhead(concurrency: int, results: dict[str, list[dict[str, Any]]]) -> None:
    row = {}
    for name, samples in results.items():
        ok = [s for s in samples if "error" not in s]
        row[name] = (statistics.median(s["ttft"] for s in ok) * 1000,
                     statistics.median(s["tps"] for s in ok), len(samples) - len(ok))  # fmt: skip
    d, g = row["direct"], row["gateway"]
    print(f"concurrency {concurrency}: TTFT p50 direct {d[0]:.1f} ms, gateway {g[0]:.1f} ms "
          f"(added {g[0] - d[0]:+.2f} ms); decode tok/s direct {d[1]:.2f}, gateway {g[1]:.2f} "
          f"(ratio {g[1] / d[1]:.4f}); errors {d[2]}/{g[2]}")  # fmt: skip


async def failover(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        common = ("--ttft-ms", "100", "--itl-ms", "10", "--output-tokens", "50")
        vproc, vurl = start("vllm", work, "--model", "org/model", *common)
        oproc, ourl = start("ollama", work, "--model", "m:1", *common)
        providers = {
            "vllm": {"kind": "vllm", "base_url": vurl, "models": {MODEL: "org/model"},
                     "priority": 0},
            "ollama": {"kind": "ollama", "base_url": ourl, "models": {MODEL: "m:1"},
                       "priority": 1},
        }  # fmt: skip
        aproc, aurl = start_api(work, providers)
        log: list[tuple[float, dict[str, Any]]] = []
        t0 = time.monotonic()
        stop_at = t0 + args.seconds

        async def user(client: httpx.AsyncClient) -> None:
            while time.monotonic() < stop_at:
                try:
                    result = await one_stream(client, f"{aurl}/v1/chat/completions", MODEL)
                except httpx.HTTPError as exc:
                    result = {"error": type(exc).__name__}
                log.append((time.monotonic() - t0, result))

        async def chaos() -> tuple[float, float]:
            await asyncio.sleep(args.seconds * 0.25)  # the schedule of the experiment
            down = time.monotonic() - t0
            httpx.post(f"{vurl}/_emulator/config", json={"outage": args.mode})
            await asyncio.sleep(args.seconds * 0.3)
            up = time.monotonic() - t0
            httpx.post(f"{vurl}/_emulator/config", json={"outage": "none"})
            return down, up

        try:
            limits = httpx.Limits(max_connections=args.streams * 2)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                results = await asyncio.gather(
                    chaos(), *(user(client) for _ in range(args.streams))
                )
            down, up = results[0]
        finally:
            for proc in (aproc, vproc, oproc):
                proc.terminate()
                proc.wait(10)
        errors = [r for _, r in log if "error" in r]
        back = [t for t, r in log if t > up and r.get("provider") == "vllm"]
        served_down = [r.get("provider") for t, r in log if down + 0.5 < t < up]
        returned = f"{back[0] - up:.2f}s after recovery" if back else "never"
        print(f"mode {args.mode}: {len(log)} streams, {len(errors)} client-visible errors "
              f"({100 * len(errors) / len(log):.2f} %); outage {down:.1f}s-{up:.1f}s; during it "
              f"served by {sorted({p for p in served_down if p})}; first vllm-served stream "
              f"completed {returned}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway")
    sub = parser.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--requests", type=int, default=64)
    o.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    f = sub.add_parser("failover")
    f.add_argument("--streams", type=int, default=50)
    f.add_argument("--seconds", type=float, default=20.0)
    f.add_argument("--mode", choices=["refuse", "503"], default="refuse")
    args = parser.parse_args()
    asyncio.run(overhead(args) if args.what == "overhead" else failover(args))


if __name__ == "__main__":
    main()
