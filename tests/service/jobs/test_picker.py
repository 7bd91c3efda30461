"""The pick policy: weighted round robin over the queues, and reads that respect a pause."""

from __future__ import annotations

import asyncio
import time

import pytest

from service.jobs import control, picker, queue
from service.jobs.picker import WeightedRoundRobin
from service.keyspace import keys as c
from tests.support.jobs import connect, fresh_settings


def _picks(weights: dict[str, int], backlog: dict[str, int], n: int) -> str:
    """The first letters of the queues ``n`` picks come from, given finite backlogs."""
    turns, left, out = WeightedRoundRobin(weights), dict(backlog), []
    for _ in range(n):
        queue_name = next((q for q in turns.order() if left[q] > 0), None)
        if queue_name is None:
            break
        left[queue_name] -= 1
        turns.took(queue_name)
        out.append(queue_name[0])
    return "".join(out)


@pytest.mark.parametrize(
    ("weights", "backlog", "expected"),
    [
        ({"hot": 4, "backfill": 1}, {"hot": 10, "backfill": 6}, "hhhhbhhhhbhhbbbb"),
        ({"hot": 2, "backfill": 3}, {"hot": 5, "backfill": 9}, "hhbbbhhbbbhbbb"),
        (
            {"hot": 1, "backfill": 50},
            {"hot": 3, "backfill": 60},
            "h" + "b" * 50 + "h" + "b" * 10 + "h",
        ),
        ({"hot": 4, "backfill": 1}, {"hot": 0, "backfill": 3}, "bbb"),
    ],
)
def test_weighted_round_robin(
    weights: dict[str, int], backlog: dict[str, int], expected: str
) -> None:
    """Up to `weight` picks per turn; an empty queue passes its turn without losing priority."""
    assert _picks(weights, backlog, 100) == expected


def test_skipped_hot_turn_returns_at_once() -> None:
    """Hot empty for a while, then a hot job appears: it is the very next pick."""
    turns = WeightedRoundRobin({"hot": 4, "backfill": 1})
    for _ in range(5):
        assert turns.order() == ["hot", "backfill"]
        turns.took("backfill")  # hot was empty
    assert turns.order() == ["hot", "backfill"]


def test_read_one_skips_paused_queue_and_waits_for_resume(redis_server: str) -> None:
    """A paused queue is never read; a waiter blocked on work wakes on resume, not on timeout."""
    s = fresh_settings(redis_server)

    async def body() -> None:
        async with connect(s) as r:
            await queue.ensure_groups(r)
            await control.set_paused(r, s, ["hot"], paused=True)
            await queue.enqueue(r, s, kind="noop", queue="hot", payload={}, owner="ci")
            got, waits = await picker.read_one(r, "c1", ["hot", "backfill"])
            assert got is None
            assert set(waits) == {c.CONTROL_KEY, c.stream_key("backfill")}
            started = time.monotonic()
            waiter = asyncio.create_task(picker.wait_for_work(r, waits, 5_000))
            async with connect(s) as other:
                await control.set_paused(other, s, ["hot"], paused=False)
            await asyncio.wait_for(waiter, 5)
            assert time.monotonic() - started < 2.0
            got, _ = await picker.read_one(r, "c1", ["backfill", "hot"])
            assert got is not None and got.queue == "hot"

    asyncio.run(body())
