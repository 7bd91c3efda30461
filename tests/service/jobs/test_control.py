"""Pause, resume and the queue state operators (and the acceptance suite) read."""

from __future__ import annotations

import asyncio

from service.jobs import control, queue
from service.waiting import apoll_until
from tests.support.jobs import connect, fresh_settings


def test_state_counts_depth_size_limit_and_pause(redis_server: str) -> None:
    """depth = waiting to start, size = held against the limit; a paused queue says so."""
    s = fresh_settings(redis_server, queue_max_length={"hot": 5, "backfill": 0})

    async def body() -> None:
        async with connect(s) as r:
            await queue.ensure_groups(r)
            for _ in range(3):
                await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
            await r.xreadgroup("workers", "c1", {"pf:stream:hot": ">"}, count=1)  # one taken
            state = await control.queue_state(r, s)
            assert state["hot"] == {
                "depth": 2,
                "size": 3,
                "limit": 5,
                "paused": False,
                "pause_expires_in_s": None,
            }
            assert state["backfill"]["limit"] == 0
            await control.set_paused(r, s, ["hot", "backfill"], paused=True)
            state = await control.queue_state(r, s)
            assert state["hot"]["paused"] and state["backfill"]["paused"]
            assert 0 < state["hot"]["pause_expires_in_s"] <= s.queue_pause_max_s
            await control.set_paused(r, s, ["backfill", "hot"], paused=False)
            state = await control.queue_state(r, s)
            assert not state["hot"]["paused"] and not state["backfill"]["paused"]

    asyncio.run(body())


def test_pause_lifts_itself_after_the_bound(redis_server: str) -> None:
    """A pause nobody resumes ends after queue_pause_max_s."""
    s = fresh_settings(redis_server, queue_pause_max_s=1)

    async def body() -> None:
        async with connect(s) as r:
            await control.set_paused(r, s, ["backfill"], paused=True)
            assert (await control.queue_state(r, s))["backfill"]["paused"]

            async def lifted() -> bool:
                return not (await control.queue_state(r, s))["backfill"]["paused"]

            await apoll_until(lifted, timeout=5, interval=0.02, message="the pause to expire")

    asyncio.run(body())
