"""Which queue a worker takes its next job from: weighted round robin, paused queues skipped.

Apart from the worker loop so that the policy (``Settings.queue_weights``) can be read and
tested on its own. The weights are the knob behind two checklist promises: hot jobs go first
(hot's weight dominates) and backfill is never starved (backfill's weight is at least 1, and a
turn ends after ``weight`` picks however long the other queue is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redis.asyncio import Redis
from redis.typing import KeyT, StreamIdT

from service.jobs.queue import READ, text
from service.jobs.recovery import Delivery
from service.keyspace import keys as c


class WeightedRoundRobin:
    """Up to ``weights[q]`` picks from each queue in turn; an empty queue passes its turn.

    With the default ``{"hot": 4, "backfill": 1}`` and both queues full the picks run
    ``hhhhb hhhhb ...``; with hot empty every pick is backfill, and hot's turn starts again the
    moment a hot job appears (a skipped queue does not wait for a whole round).
    """

    def __init__(self, weights: Mapping[str, int], queues: Sequence[str] = c.QUEUES) -> None:
        self.queues = list(queues)
        self.weights = {q: max(1, int(weights.get(q, 1))) for q in self.queues}
        self.current = 0
        self.taken = 0

    def order(self) -> list[str]:
        """The queues in the order to try for the next pick: the queue whose turn it is first."""
        if self.taken >= self.weights[self.queues[self.current]]:
            self.current = (self.current + 1) % len(self.queues)
            self.taken = 0
        return self.queues[self.current :] + self.queues[: self.current]

    def took(self, queue: str) -> None:
        """Count a pick; a pick from another queue (the due ones were empty) starts its turn."""
        index = self.queues.index(queue)
        if index != self.current:
            self.current, self.taken = index, 0
        self.taken += 1


async def read_one(
    redis: Redis, consumer: str, order: Sequence[str]
) -> tuple[Delivery | None, dict[str, str]]:
    """Take one new entry from the first unpaused queue of ``order`` that has one.

    Nothing to take: ``(None, waits)``, the stream ids (control stream included) after which
    new entries mean "look again"; pass them to ``wait_for_work``.
    """
    keys = [c.CONTROL_KEY, *(k for q in order for k in (c.stream_key(q), c.paused_key(q)))]
    reply = await READ(redis, keys, [c.CONSUMER_GROUP, consumer])
    if text(reply[0]) == "entry":
        queue = order[int(text(reply[1])) - 1]
        return Delivery(queue, text(reply[2]), text(reply[3])), {}
    waits = {c.CONTROL_KEY: text(reply[1])}
    for i in range(2, len(reply) - 1, 2):
        waits[c.stream_key(order[int(text(reply[i])) - 1])] = text(reply[i + 1])
    return None, waits


async def wait_for_work(redis: Redis, waits: Mapping[str, str], block_ms: int) -> None:
    """Block until an entry arrives in a waited-on stream (new job, pause, resume) or timeout.

    A plain XREAD, not XREADGROUP: it delivers nothing, so a queue paused meanwhile is not read
    behind its flag's back; the caller reads again through ``read_one``.
    """
    streams: dict[KeyT, StreamIdT] = {key: last for key, last in waits.items()}
    await redis.xread(streams, count=1, block=block_ms)
