"""Reliability under fire: SIGKILLed workers and a Redis restart, nothing lost or run twice.

    python -m bench.reliability --jobs 10000 --workers 4

Valkey runs with AOF (``--fsync everysec`` by default; ``always`` is available). N worker
processes drain probe jobs (a mix of hot/backfill, short sleeps, some planned failures); about
once a second a random worker is SIGKILLed and started again; once, when about half the jobs are
terminal, Valkey is SHUTDOWN (which flushes the AOF) and started again on the same port and dir.
At the end every job must be terminal (succeeded or dead), none missing, and none with two
successful attempts; the success counter in ``pf:stats`` must equal the number of succeeded jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

import redis

from bench.common import Valkey, platform_env, spawn_worker
from service.jobs import queue
from service.keyspace import keys as c
from service.settings import Settings

SETTINGS = {
    "queue_max_length": {"hot": 1_000_000, "backfill": 1_000_000},
    "worker_heartbeat_s": 0.5,
    "job_visibility_timeout_s": 10.0,
    "retry_base_s": 0.05,
    "retry_max_s": 1.0,
    "job_max_attempts": 8,
    "worker_concurrency": 16,
    "worker_shutdown_grace_s": 1.0,
}


async def enqueue_all(url: str, n: int) -> list[str]:
    settings = Settings(
        **{
            **SETTINGS,
            "redis_url": url,
            "environment": "local",  # type: ignore[arg-type]
            "api_keys": {"b": "b" * 32},
            "admin_keys": {"o": "o" * 32},
        }
    )
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    rng = random.Random(1)  # noqa: S311  # reproducible workload, not crypto
    sem = asyncio.Semaphore(64)

    async def one(i: int) -> str:
        payload = {
            "duration_s": rng.choice([0.0, 0.01, 0.05]),
            "fail_times": rng.choice([0, 0, 1]),
            "tag": f"job-{i}",
        }
        async with sem:
            r = await queue.enqueue(
                client,
                settings,
                kind="probe",
                queue="hot" if i % 3 else "backfill",
                payload=payload,
                owner="bench",
            )
        return r.job_id

    try:
        return list(await asyncio.gather(*(one(i) for i in range(n))))
    finally:
        await client.aclose()


def census(url: str, ids: list[str]) -> dict[str, int]:
    client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)
    pipe = client.pipeline(transaction=False)
    for job_id in ids:
        pipe.hget(c.job_key(job_id), "status")
    counts: dict[str, int] = {}
    for status in pipe.execute():
        counts[status or "missing"] = counts.get(status or "missing", 0) + 1
    client.close()
    return counts


def audit(url: str, ids: list[str]) -> dict[str, int]:
    client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)
    twice = 0
    for job_id in ids:
        history = json.loads(client.hget(c.job_key(job_id), "history") or "[]")
        if sum(1 for h in history if "error" not in h) > 1:
            twice += 1
    stats = client.hgetall(c.STATS_KEY)
    counted = sum(
        int(v) for k, v in stats.items() if k.startswith("jobs|") and k.endswith("|succeeded")
    )
    lost = sum(int(v) for k, v in stats.items() if k.endswith("|lost"))
    client.close()
    return {"succeeded_twice": twice, "success_counter": counted, "lost_attempts": lost}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--jobs", type=int, default=10_000, metavar="N", help="Default: %(default)r")
    ap.add_argument("--workers", type=int, default=4, metavar="N", help="Default: %(default)r")
    ap.add_argument(
        "--kill-every", type=float, default=1.0, metavar="S", help="Default: %(default)r"
    )
    ap.add_argument("--fsync", choices=["everysec", "always"], default="everysec")
    ap.add_argument(
        "--timeout", type=float, default=900.0, metavar="S", help="Default: %(default)r"
    )
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pf-bench-"))
    vk = Valkey(workdir, aof=True, fsync=args.fsync)
    vk.start()
    env = platform_env(vk.url, **SETTINGS)
    procs = {}
    rng = random.Random(2)  # noqa: S311  # reproducible victims, not crypto
    kills = restarts = 0
    try:
        t0 = time.monotonic()
        ids = asyncio.run(enqueue_all(vk.url, args.jobs))
        print(f"enqueued {len(ids)} in {time.monotonic() - t0:.1f}s")
        t0 = time.monotonic()
        procs = {f"w{i}": spawn_worker(f"w{i}", env, workdir) for i in range(args.workers)}
        next_kill = time.monotonic() + args.kill_every
        while True:
            try:
                counts = census(vk.url, ids)
            except redis.RedisError:
                counts = {}
            done = counts.get("succeeded", 0) + counts.get("dead", 0)
            if done >= len(ids) or time.monotonic() - t0 > args.timeout:
                break
            if not restarts and done >= len(ids) // 2:
                vk.shutdown()
                vk.start()
                restarts += 1
                print(f"valkey restarted at {done} terminal")
            if time.monotonic() >= next_kill:
                victim = rng.choice(sorted(procs))
                procs[victim].kill()
                procs[victim].wait()
                procs[victim] = spawn_worker(victim, env, workdir)
                kills += 1
                next_kill += args.kill_every
            time.sleep(0.25)  # census interval of a benchmark driver, not synchronisation
        elapsed = time.monotonic() - t0
        counts = census(vk.url, ids)
        result = {
            "jobs": len(ids),
            "workers": args.workers,
            "fsync": args.fsync,
            "sigkills": kills,
            "valkey_restarts": restarts,
            "seconds": round(elapsed, 1),
            "statuses": counts,
            **audit(vk.url, ids),
        }
        print(json.dumps(result))
        ok = (
            counts.get("succeeded", 0) + counts.get("dead", 0) == len(ids)
            and result["succeeded_twice"] == 0
            and result["success_counter"] == counts.get("succeeded", 0)
        )
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(15)
        vk.stop()


if __name__ == "__main__":
    raise SystemExit(main())
