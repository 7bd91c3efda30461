"""RQ and arq for `python -m bench.throughput`: the same no-op jobs on the same Valkey.

Each peer is driven through its own client API the way its users would: jobs enqueued one call
at a time (the latency of each call is kept), then N worker processes in burst mode, timed from
their start until the queue is drained. RQ runs in this environment (extra `bench`); arq pins an
older redis-py, so its client and workers run from its own venv (`bench.peers.arq_driver`,
skipped when /work/peers/arq is absent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import redis

from bench.peers import missing, peer_python

REPO = Path(__file__).resolve().parents[1]
WORKER_TIMEOUT_S = 600.0


def _wait_all(procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    for proc in procs:
        proc.wait(max(1.0, deadline - time.monotonic()))
        if proc.returncode != 0:
            raise RuntimeError(f"a peer worker exited with {proc.returncode}")


def run_rq(url: str, n: int, workers: int) -> tuple[float, list[float]]:
    """Seconds for `workers` SimpleWorkers (no fork per job, RQ's fastest) to drain n jobs, and
    the enqueue latencies (ms) of `Queue.enqueue`."""
    from rq import Queue  # optional dependency group "bench"

    client = redis.Redis.from_url(url)
    client.flushdb()
    q = Queue("bench", connection=client)
    latencies = []
    for _ in range(n):
        t0 = time.perf_counter()
        q.enqueue("bench.throughput.noop")  # by dotted path, not __main__.noop
        latencies.append((time.perf_counter() - t0) * 1000)
    argv = [
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        "--burst",
        "-q",
        "-w",
        "rq.worker.SimpleWorker",
        "--url",
        url,
        "bench",
    ]
    t0 = time.monotonic()
    _wait_all([subprocess.Popen(argv, cwd=REPO) for _ in range(workers)])
    elapsed = time.monotonic() - t0
    left, failed = q.count, q.failed_job_registry.count
    finished = q.finished_job_registry.count
    client.close()
    if left or failed or finished != n:
        raise RuntimeError(f"rq: {left} queued, {failed} failed, {finished} finished of {n}")
    return elapsed, latencies


def run_arq(url: str, n: int, workers: int) -> tuple[float, list[float]] | str:
    """As `run_rq` for arq (its workers' defaults: up to 10 jobs at once each), or why not."""
    python = peer_python("arq")
    if python is None:
        return missing("arq")
    client = redis.Redis.from_url(url)
    client.flushdb()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    driver = [str(python), "-m", "bench.peers.arq_driver"]
    done = subprocess.run(
        [*driver, "enqueue", "--url", url, "--jobs", str(n)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=WORKER_TIMEOUT_S,
    )
    latencies: list[float] = json.loads(done.stdout)["enqueue_ms"]
    t0 = time.monotonic()
    procs = [
        subprocess.Popen(
            [*driver, "work", "--url", url],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    _wait_all(procs)
    elapsed = time.monotonic() - t0
    results = sum(1 for _ in client.scan_iter("arq:result:*", count=1000))
    queued = client.zcard("arq:queue")
    client.close()
    if results != n or queued:
        raise RuntimeError(f"arq: {results} results of {n}, {queued} still queued")
    return elapsed, latencies
