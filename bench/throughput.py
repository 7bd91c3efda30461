"""No-op jobs per second, end to end, one worker: this queue vs rq on the same Valkey.

    pip install -e '.[bench]'     # rq
    python -m bench.throughput --jobs 5000

For each system: enqueue N no-op jobs, start one worker, time from worker start until every job
is finished (polling the queue's own state). Ours runs one worker process with
``worker_concurrency`` 1 and then the default (4); rq runs a ``SimpleWorker`` in burst mode (no
fork per job, its fastest mode) in a subprocess. AOF is off: this measures the queues, not fsync.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bench.common import Valkey, platform_env, spawn_worker
from service.jobs import queue
from service.keyspace import keys as c
from service.settings import Settings


def noop() -> bool:
    """The rq job (rq imports it by dotted path)."""
    return True


async def _enqueue(url: str, n: int) -> None:
    settings = Settings(
        redis_url=url,
        environment="local",
        api_keys={"b": "b" * 32},
        admin_keys={"o": "o" * 32},
        queue_max_length={"hot": n + 1, "backfill": 1},
    )
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        for _ in range(n):
            await queue.enqueue(
                client, settings, kind="noop", queue="hot", payload={}, owner="bench"
            )
    finally:
        await client.aclose()


def run_ours(url: str, n: int, concurrency: int, logdir: Path) -> float:
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    asyncio.run(_enqueue(url, n))
    env = platform_env(url, worker_concurrency=concurrency, worker_heartbeat_s=1.0)
    t0 = time.monotonic()
    proc = spawn_worker("bench", env, logdir)
    try:
        while int(client.get(c.active_key("hot")) or 0) > 0:
            time.sleep(0.01)  # completion poll of a benchmark driver
        return time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(15)
        client.close()


def run_rq(url: str, n: int) -> float:
    from rq import Queue  # optional dependency group "bench"

    client = redis.Redis.from_url(url)
    client.flushdb()
    q = Queue("bench", connection=client)
    jobs = [Queue.prepare_data("bench.throughput.noop") for _ in range(n)]  # not __main__.noop
    q.enqueue_many(jobs)
    t0 = time.monotonic()
    subprocess.run(
        [
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
        ],
        check=True,
    )
    elapsed = time.monotonic() - t0
    left, failed = q.count, q.failed_job_registry.count
    client.close()
    if left or failed:
        raise RuntimeError(f"rq left {left} queued and {failed} failed of {n}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--jobs", type=int, default=5_000, metavar="N", help="Default: %(default)r")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pf-tp-"))
    vk = Valkey(workdir, aof=False)
    vk.start()
    try:
        out = {}
        for conc in (1, 4):
            s = run_ours(vk.url, args.jobs, conc, workdir)
            out[f"preflight_c{conc}_jobs_per_s"] = round(args.jobs / s, 1)
        s = run_rq(vk.url, args.jobs)
        out["rq_simpleworker_jobs_per_s"] = round(args.jobs / s, 1)
        print(json.dumps({"jobs": args.jobs, **out}))
    finally:
        vk.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
