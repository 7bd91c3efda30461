"""Ollama's request concurrency: `OLLAMA_NUM_PARALLEL` at once, `OLLAMA_MAX_QUEUE` waiting.

Ollama (server/sched.go) serves a loaded model's requests `NUM_PARALLEL` at a time (default 1)
and lets up to `MAX_QUEUE` more wait (default 512), served in arrival order; past that it
answers at once with 503 and `ErrMaxQueue` as `{"error": "..."}` (routes.go
`handleScheduleError`), before any output, also for a streaming request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from starlette.types import Receive

from service.emulators.disconnect import disconnected

# envconfig defaults (envconfig/config.go: NumParallel 1, MaxQueue 512).
DEFAULT_NUM_PARALLEL = 1
DEFAULT_MAX_QUEUE = 512
# server/sched.go's ErrMaxQueue, two spaces included.
MAX_QUEUE_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"


class QueueFull(Exception):
    """More than `max_queue` requests would be waiting."""


class Slots:
    """A FIFO semaphore with a bounded queue; one per emulated server."""

    def __init__(self, parallel: int, max_queue: int) -> None:
        self.parallel, self.max_queue = parallel, max_queue
        self.busy = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def acquire(self) -> None:
        """Take a slot, waiting in line if all are busy; `QueueFull` when the line is full."""
        if self.busy < self.parallel and not self._waiting:
            self.busy += 1
            return
        if len(self._waiting) >= self.max_queue:
            raise QueueFull(MAX_QUEUE_MESSAGE)
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:  # the client left while waiting
            if turn.done() and not turn.cancelled():
                self.release()  # the slot was handed over just before: pass it on
            else:
                self._waiting.remove(turn)
            raise

    def release(self) -> None:
        """Give the slot to the next in line, or free it."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.busy -= 1


async def acquire_or_leave(slots: Slots, receive: Receive) -> bool:
    """Take a slot, or give up the place in line when the client disconnects first (False).

    Go cancels a request's context when its client goes and Ollama's scheduler drops it.
    """
    turn = asyncio.ensure_future(slots.acquire())
    gone = asyncio.ensure_future(disconnected(receive))
    try:
        await asyncio.wait({turn, gone}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        if turn.done() and not turn.cancelled() and turn.exception() is None:
            slots.release()  # acquired, but this handler is being torn down
        raise
    finally:
        gone.cancel()
        if not turn.done():
            turn.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await turn
    if turn.cancelled():
        return False
    turn.result()  # raises QueueFull
    return True
