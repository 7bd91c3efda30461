"""Release chunks on an absolute schedule so inter-token latency does not drift.

Sleeping `itl` after each write accumulates every overshoot of the event loop; computing each
deadline from the request's arrival (`t0 + ttft + k * interval`) keeps the k-th chunk on time
whatever happened to the chunks before it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator


async def sleep_until(deadline: float) -> None:
    """Sleep until `time.monotonic()` reaches `deadline` (no-op when already past).

    time.monotonic(), not loop.time(): uvloop's clock is cached per iteration at millisecond
    resolution, too coarse for the TTFT figures checks compare against.
    """
    delay = deadline - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    # Timers may fire up to a millisecond early (uvloop rounds to its cached millisecond
    # clock); yield to the loop until the deadline has really passed, so TTFT is never short.
    while time.monotonic() < deadline:
        await asyncio.sleep(0)


async def schedule(count: int, t0: float, ttft_s: float, interval_s: float) -> AsyncIterator[int]:
    """Yield 0..count-1, the k-th no earlier than `t0 + ttft_s + k * interval_s`."""
    for k in range(count):
        await sleep_until(t0 + ttft_s + k * interval_s)
        yield k
