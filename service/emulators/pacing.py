"""Release chunks on an absolute schedule so inter-token latency does not drift.

Sleeping `itl` after each write accumulates every overshoot of the event loop; computing each
deadline from the request's arrival (`t0 + ttft + k * interval`) keeps the k-th chunk on time
whatever happened to the chunks before it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

# The first chunk (TTFT) wakes this early and yields to the loop until its deadline: uvloop's
# millisecond timers alone released it 0.5-2 ms late. Only the first: a lead for every chunk
# would keep the loop busy-polling at 64 streams (3200 chunks/s), and later chunks' lateness
# does not accumulate (absolute schedule) and cancels out of decode tokens/s.
FIRST_CHUNK_LEAD_S = 0.002


async def sleep_until(deadline: float, lead_s: float = 0.0) -> None:
    """Sleep until `time.monotonic()` reaches `deadline` (no-op when already past); the last
    `lead_s` by yielding to the loop instead of on a timer.

    time.monotonic(), not loop.time(): uvloop's clock is cached per iteration at millisecond
    resolution, too coarse for the TTFT figures checks compare against.
    """
    delay = deadline - time.monotonic() - lead_s
    if delay > 0:
        await asyncio.sleep(delay)
    # Timers may fire up to a millisecond early (uvloop rounds to its cached millisecond
    # clock); yield to the loop until the deadline has really passed, so TTFT is never short.
    while time.monotonic() < deadline:
        await asyncio.sleep(0)


async def schedule(count: int, t0: float, ttft_s: float, interval_s: float) -> AsyncIterator[int]:
    """Yield 0..count-1, the k-th no earlier than `t0 + ttft_s + k * interval_s`."""
    for k in range(count):
        await sleep_until(t0 + ttft_s + k * interval_s, FIRST_CHUNK_LEAD_S if k == 0 else 0.0)
        yield k
