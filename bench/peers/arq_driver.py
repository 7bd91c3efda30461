"""arq's side of `python -m bench.throughput`, run by the interpreter of arq's own venv.

arq pins an older redis-py than the service needs, so it never runs in the project's
environment: `bench.throughput` starts this module as a subprocess of /work/peers/arq (see
bench/peers/setup.sh) and reads the JSON it prints. Imports arq and the standard library only.

    python -m bench.peers.arq_driver enqueue --url URL --jobs N   # one at a time; latencies
    python -m bench.peers.arq_driver work --url URL               # a burst worker, until empty
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker


async def noop(ctx: dict[str, Any]) -> bool:
    """The no-op job."""
    return True


async def enqueue(url: str, jobs: int) -> None:
    """Enqueue `jobs` no-op jobs one at a time; print each call's latency (ms) as JSON."""
    pool = await create_pool(RedisSettings.from_dsn(url))
    latencies = []
    try:
        for _ in range(jobs):
            t0 = time.perf_counter()
            job = await pool.enqueue_job("noop")
            latencies.append((time.perf_counter() - t0) * 1000)
            if job is None:
                raise RuntimeError("arq refused a job (duplicate id)")
    finally:
        await pool.aclose()
    print(json.dumps({"enqueue_ms": latencies}))


def work(url: str) -> None:
    """One worker process with arq's defaults (up to 10 jobs at once), in burst mode: it exits
    once the queue is empty."""
    worker = Worker(
        functions=[noop],
        redis_settings=RedisSettings.from_dsn(url),
        burst=True,
        handle_signals=False,
        poll_delay=0.01,
    )
    worker.run()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.arq_driver")
    parser.add_argument("what", choices=["enqueue", "work"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", type=int, default=0)
    args = parser.parse_args()
    if args.what == "enqueue":
        asyncio.run(enqueue(args.url, args.jobs))
    else:
        work(args.url)


if __name__ == "__main__":
    main()
