"""Processes and the measured stream shared by the gateway benchmarks (`bench.gateway`).

Every stream carries its own ``X-Request-ID``; the gateway forwards it, so the emulator's request
log (its receipt time and when it wrote the first chunk) splits each TTFT into what happened
before the provider saw the request and what happened after it answered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from bench.common import KEYS, free_port
from service.stack.api import uvicorn_argv
from service.stack.tls import TlsFiles
from service.waiting import poll_until

MODEL = "bench-model"
API_KEY = "b" * 32
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
# Requests per key and minute the benchmarks may send with rate limiting on: far above what a
# run sends, so the limiter is paid for (two Redis round trips per request) but never refuses.
BENCH_RATE_LIMIT = "1000000/minute"


class Target(NamedTuple):
    """Where a benchmark sends its streams: URL, model name, the client's headers (its key), and
    the processes whose CPU time is the target's cost (none for the emulator itself)."""

    url: str
    model: str
    headers: dict[str, str]
    pids: tuple[int, ...] = ()


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], deadline_s: float = 30.0, verify: str | bool = True
) -> None:
    poll_until(
        lambda: httpx.get(url, timeout=1.0, verify=verify),
        timeout=deadline_s,
        interval=0.05,
        message=f"{url} to answer",
        ignore=(httpx.TransportError,),
        abort=lambda: None if proc.poll() is None else "the process exited",
    )


def start_emulator(kind: str, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [sys.executable, "-m", f"service.emulators.{kind}", "--port", str(port), *args]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/_emulator/state", proc)
    return proc, url


def start_api(
    workdir: Path,
    providers: dict[str, Any],
    *,
    redis_url: str | None = None,
    source: Path | None = None,
    gateway: dict[str, Any] | None = None,
    tls: TlsFiles | None = None,
    stages: Path | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """The platform API on uvicorn. `redis_url` turns per-key rate limiting on (as deployed);
    `source` runs another checkout of the repository (a baseline) instead of this one; `tls`
    serves HTTPS with those files; `stages` runs it as `bench.stages` (stamps to that file)."""
    port = free_port()
    name = f"api-{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")},
        **KEYS,
        "PLATFORM_ENVIRONMENT": "local",
        "PLATFORM_RATE_LIMIT_ENABLED": "true" if redis_url else "false",
        "PLATFORM_RATE_LIMIT": BENCH_RATE_LIMIT,
        # Without rate limiting the chat path touches no Redis; a closed port then shows it.
        "PLATFORM_REDIS_URL": redis_url or f"redis://127.0.0.1:{free_port()}/0",
        "PLATFORM_DATA_DIR": str(workdir / name / "data"),
        "PLATFORM_LOG_DIR": str(workdir / name / "logs"),
        "PLATFORM_PROVIDERS": json.dumps(providers),
        "PLATFORM_GATEWAY": json.dumps(
            {"cooldown_s": 2.0, "probe_interval_s": 0.25, **(gateway or {})}
        ),
    }
    if source is not None:
        env["PYTHONPATH"] = str(source)
    # The stack's server options (protocol with the header deadline, limits), so what is
    # measured is what is deployed; TLS only when asked (the emulator is plain HTTP).
    argv = [*_server_argv(port, tls, source), "--log-level", "warning"]
    if stages is not None:
        env["BENCH_STAGES_OUT"] = str(stages)
        argv[1:3] = ["-m", "bench.stages"]  # in place of "-m uvicorn", same arguments
    proc = subprocess.Popen(
        argv, env=env, cwd=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    wait_ready(f"{url}/health/live", proc, verify=str(tls.ca_file) if tls else True)
    return proc, url


def start_floor(upstream: str) -> tuple[subprocess.Popen[bytes], str]:
    """`bench.bare_proxy` in front of `upstream`: the cost of a bare Python streaming hop."""
    port = free_port()
    env = {**os.environ, "BENCH_UPSTREAM": upstream}
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_proxy:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/health", proc)
    return proc, url


# Prints a checkout's own `uvicorn_argv` (its options and protocol class may differ from this
# one's); the TLS flags are dropped afterwards when not wanted (older versions require files).
_ARGV_OF = """
import json, sys, types
from service.stack.api import uvicorn_argv
tls = types.SimpleNamespace(key_file=sys.argv[2], cert_file=sys.argv[3])
print(json.dumps(uvicorn_argv(int(sys.argv[1]), tls)))
"""


def _server_argv(port: int, tls: TlsFiles | None, source: Path | None) -> list[str]:
    if source is None:
        return uvicorn_argv(port, tls)
    files = [str(tls.key_file), str(tls.cert_file)] if tls else ["-", "-"]
    printed = subprocess.run(
        [sys.executable, "-c", _ARGV_OF, str(port), *files],
        env={**os.environ, "PYTHONPATH": str(source)},
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    argv: list[str] = json.loads(printed)
    if tls is None:
        for flag in ("--ssl-keyfile", "--ssl-certfile"):
            at = argv.index(flag)
            del argv[at : at + 2]
    return argv


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(10)


async def one_stream(
    client: httpx.AsyncClient,
    url: str,
    model: str,
    *,
    max_tokens: int | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """TTFT, decode tokens/s, who served, the text and the request id of one streamed request.

    Any failure the client would see (status, error event, no [DONE], broken connection) is
    returned as ``{"error": ...}``.
    """
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "hello"}],
        "stream": True,
    }
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    request_id = uuid.uuid4().hex
    headers = {**(HEADERS if headers is None else headers), "X-Request-ID": request_id}
    sent_wall = time.time()
    t0 = time.perf_counter()
    times: list[float] = []
    text: list[str] = []
    done = False
    try:
        async with client.stream("POST", url, json=body, headers=headers) as response:
            if response.status_code != 200:
                return {"error": f"HTTP {response.status_code}"}
            headers_at = time.perf_counter()
            async for line in response.aiter_lines():
                if line == "data: [DONE]":
                    done = True
                if not line.startswith("data: ") or done:
                    continue
                data = json.loads(line[6:])
                if "error" in data:
                    return {"error": "error event"}
                pieces = [(c.get("delta") or {}).get("content") for c in data.get("choices", [])]
                if any(pieces):
                    times.append(time.perf_counter())
                    text.extend(p for p in pieces if p)
    except httpx.HTTPError as exc:
        return {"error": type(exc).__name__}
    if not times:
        return {"error": "no content"}
    if not done:
        return {"error": "no [DONE]"}
    decode = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {
        "ttft": times[0] - t0,
        "tps": decode,
        "headers_s": headers_at - t0,
        "provider": response.headers.get("x-provider", "direct"),
        "text": "".join(text),
        "request_id": request_id,
        "sent_wall": sent_wall,
        "first_wall": sent_wall + times[0] - t0,
    }
