"""No-op jobs per second end to end and enqueue latency: this queue vs RQ and arq on one Valkey.

    pip install -e '.[bench]'          # rq
    bash bench/peers/setup.sh arq      # arq, in its own venv (it pins an older redis-py)
    python -m bench.throughput --jobs 5000

For each system, on the same Valkey server, flushed in between: enqueue N no-op jobs one call at
a time with the system's own client API (each call's latency kept: p50/p99), then start W worker
processes and time from their start until every job is finished (polling the queue's own state,
or the workers' exit in burst mode). W is 1 and 4; a worker is one process with the system's
own default concurrency: ours runs ``worker_concurrency`` jobs at once (4; also shown with 1),
RQ's ``SimpleWorker`` one (no fork per job, its fastest mode), arq up to 10 (its ``max_jobs``;
``poll_delay`` 0.01 s, as its default 0.5 s would cap a worker at 20 jobs a second). AOF is
off: this measures the queues, not fsync.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import redis
from pydantic import SecretStr

from bench.common import Valkey, platform_env, spawn_worker
from bench.gateway_report import percentile
from bench.throughput_peers import run_arq, run_rq
from service.jobs import queue
from service.keyspace import keys as c
from service.settings import Settings
from service.waiting import poll_until


def noop() -> bool:
    """The rq job (rq imports it by dotted path)."""
    return True


async def _enqueue(url: str, n: int) -> list[float]:
    """Enqueue n no-op jobs one call at a time; the latency of each call, ms."""
    settings = Settings(
        redis_url=url,
        environment="local",
        api_keys={"b": SecretStr("b" * 32)},
        admin_keys={"o": SecretStr("o" * 32)},
        queue_max_length={"hot": n + 1, "backfill": 1},
    )
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    latencies = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            await queue.enqueue(
                client, settings, kind="noop", queue="hot", payload={}, owner="bench"
            )
            latencies.append((time.perf_counter() - t0) * 1000)
    finally:
        await client.aclose()
    return latencies


def run_ours(
    url: str, n: int, concurrency: int, logdir: Path, workers: int = 1
) -> tuple[float, list[float]]:
    """Seconds for `workers` worker processes to finish n jobs, and the enqueue latencies."""
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    latencies = asyncio.run(_enqueue(url, n))
    # Data and logs in the run's own directory, not the working directory (the checkout).
    env = platform_env(
        url,
        worker_concurrency=concurrency,
        worker_heartbeat_s=1.0,
        data_dir=str(logdir / "data"),
        log_dir=str(logdir / "logs"),
    )
    t0 = time.monotonic()
    procs = [spawn_worker(f"bench-{i}", env, logdir) for i in range(workers)]
    try:
        poll_until(
            lambda: int(client.get(c.active_key("hot")) or 0) == 0,
            timeout=600,
            interval=0.01,
            message="the workers to finish every job",
        )
        return time.monotonic() - t0, latencies
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(15)
        client.close()


def _row(name: str, n: int, run: tuple[float, list[float]] | str) -> dict[str, object]:
    if isinstance(run, str):
        return {"system": name, "skipped": run}
    seconds, latencies = run
    return {
        "system": name,
        "jobs_per_s": round(n / seconds, 1),
        "enqueue_p50_ms": round(percentile(latencies, 50), 3),
        "enqueue_p99_ms": round(percentile(latencies, 99), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--jobs", type=int, default=5_000, metavar="N", help="Default: %(default)r")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    args = ap.parse_args()
    n = args.jobs
    workdir = Path(tempfile.mkdtemp(prefix="pf-tp-"))
    vk = Valkey(workdir, aof=False)
    vk.start()
    try:
        rows = [
            _row("preflight, 1 worker, concurrency 1", n, run_ours(vk.url, n, 1, workdir)),
            _row("preflight, 1 worker", n, run_ours(vk.url, n, 4, workdir)),
            _row("preflight, 4 workers", n, run_ours(vk.url, n, 4, workdir, workers=4)),
            _row("rq, 1 worker", n, run_rq(vk.url, n, 1)),
            _row("rq, 4 workers", n, run_rq(vk.url, n, 4)),
            _row("arq, 1 worker", n, run_arq(vk.url, n, 1)),
            _row("arq, 4 workers", n, run_arq(vk.url, n, 4)),
        ]
    finally:
        vk.stop()
    print(f"{n} no-op jobs per system, one Valkey (flushed between); enqueue: one call at a time")
    print(f"  {'system':<38}{'jobs/s':>9}{'enqueue p50 ms':>16}{'p99 ms':>9}")
    for row in rows:
        if "skipped" in row:
            print(f"  {row['system']:<38}  skipped: {row['skipped']}")
        else:
            print(
                f"  {row['system']:<38}{row['jobs_per_s']:>9}{row['enqueue_p50_ms']:>16}"
                f"{row['enqueue_p99_ms']:>9}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"jobs": n, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
