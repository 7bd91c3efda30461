"""A process that claims one schedule's slots as fast as it can: ``python -m
tests.service.scheduler.schedule_claimer REDIS_URL NAME PERIOD_S DURATION_S HOLDER``.

Each claimed slot is finished at once and printed as one JSON line (run id, holder), so the test
can prove that two such processes, racing over the same Redis, never both ran a slot.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from redis.asyncio import Redis

from service.scheduler import state


async def claim_for(url: str, name: str, period_s: float, duration_s: float, holder: str) -> None:
    redis = Redis.from_url(url, decode_responses=True)
    deadline = time.monotonic() + duration_s
    try:
        while time.monotonic() < deadline:
            run = await state.claim(redis, name, period_s, holder, lease_s=5.0)
            if run is not None:
                assert await state.finish(redis, run, "succeeded")
                sys.stdout.write(json.dumps({"run_id": run.run_id, "holder": holder}) + "\n")
            await asyncio.sleep(0.002)  # a tick: the loop's pace, not synchronisation
    finally:
        await redis.aclose()


if __name__ == "__main__":
    url, name, period, duration, holder = sys.argv[1:6]
    asyncio.run(claim_for(url, name, float(period), float(duration), holder))
