"""Requests per second of /health and /status: the platform next to a bare FastAPI app.

Both run under uvicorn (one process, plain HTTP on loopback so that TLS cost is not counted
twice) against the same Valkey, measured in the same run by the same client:
`python -m bench.http_rps [--seconds 5] [--concurrency 32]` (needs `wrk`: apt-get install
wrk). On a 2-core machine wrk shares the cores with the server; the ratio is what to read.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

from bench.common import Valkey, free_port, platform_env

API_KEY = "b" * 32  # the key bench.common.KEYS gives the platform


def serve(app: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(argv, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/health", timeout=1)
            return proc, url
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"{app} did not start; see {log}") from None
            time.sleep(0.05)  # readiness poll interval


def rate(url: str, seconds: int, concurrency: int) -> float:
    """Requests per second that wrk (a C load generator, so the client is not the bottleneck
    that a Python client would be on two cores) sustains against one URL with keep-alive."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    argv = [wrk, "-t1", f"-c{concurrency}", f"-d{int(seconds)}s",
            "-H", f"Authorization: Bearer {API_KEY}", url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    if "Non-2xx" in out.stdout:
        raise RuntimeError(f"{url} answered errors under load:\n{out.stdout}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out.stdout}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="window per measurement")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent keep-alive users")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        valkey = Valkey(work, aof=False)
        valkey.start()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            env = platform_env(valkey.url, rate_limit="100000000 per minute",
                               log_dir=str(work / "logs"), data_dir=str(work / "data"))
            ours, ours_url = serve("service.app:create_app", env, work / "ours.log")
            bare_env = {**env, "BENCH_REDIS_URL": valkey.url}
            bare, bare_url = serve("bench.bare_app:create_app", bare_env, work / "bare.log")
            procs += [ours, bare]
            job = httpx.post(ours_url + "/enqueue", json={"kind": "noop", "payload": {}},
                             headers={"Authorization": f"Bearer {API_KEY}"}).json()["job_id"]
            redis.Redis.from_url(valkey.url).hset(f"bench:job:{job}", mapping={"status": "queued"})
            print(f"{'route':<10}{'platform rps':>14}{'bare rps':>12}{'ratio':>8}")
            for route, path in (("/health", "/health"), ("/status", f"/status/{job}")):
                platform = rate(ours_url + path, args.seconds, args.concurrency)
                baseline = rate(bare_url + path, args.seconds, args.concurrency)
                print(f"{route:<10}{platform:>14.0f}{baseline:>12.0f}{platform / baseline:>8.2f}")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            valkey.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
