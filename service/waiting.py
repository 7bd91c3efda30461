"""Bounded polling: the one way the stack, the suite, the benchmarks and the tests wait.

A bare sleep either wastes time or is too short on a slow machine; a poll with a deadline does
neither and, when it gives up, says what it was waiting for and what it saw last. It lives in
`service` because that is the package everything else already depends on (the suite boots the
stack from it); the platform itself uses it too where it waits for a lock or a file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WaitFailed(AssertionError):
    """A bounded wait ended without its condition. An AssertionError, so that a check or a test
    that waits fails (rather than errors) on it; the stack turns it into its own StackError."""


class PollTimeout(WaitFailed, TimeoutError):
    """The condition never held within the deadline."""

    def __init__(self, message: str, last: object, attempts: int, elapsed_s: float) -> None:
        super().__init__(
            f"{message} (gave up after {elapsed_s:.1f} s, {attempts} attempts; "
            f"last value: {last!r})"
        )
        self.last = last
        self.attempts = attempts
        self.elapsed_s = elapsed_s


class PollAborted(WaitFailed):
    """``abort`` gave a reason to stop before the deadline (e.g. the process waited for exited)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(f"{message}: gave up: {reason}")
        self.reason = reason


class _Poll:
    """The bookkeeping both the sync and the async loop share: one place decides when to stop."""

    def __init__(
        self,
        timeout: float,
        interval: float,
        message: str,
        abort: Callable[[], str | None] | None,
    ) -> None:
        if timeout <= 0 or interval <= 0:
            raise ValueError("timeout and interval must be positive")
        self.start = time.monotonic()
        self.deadline = self.start + timeout
        self.interval, self.message, self.abort = interval, message, abort
        self.attempts = 0
        self.last: object = None

    def check_abort(self) -> None:
        self.attempts += 1
        if self.abort is not None:
            reason = self.abort()
            if reason is not None:
                raise PollAborted(self.message, reason)

    def pause(self) -> float:
        """Seconds to wait before the next attempt; raises PollTimeout once the deadline passed."""
        now = time.monotonic()
        if now >= self.deadline:
            raise PollTimeout(self.message, self.last, self.attempts, now - self.start)
        return min(self.interval, self.deadline - now)


def poll_until(
    fn: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.1,
    message: str = "condition not met",
    ignore: tuple[type[BaseException], ...] = (),
    abort: Callable[[], str | None] | None = None,
) -> T:
    """Call ``fn`` until it returns something truthy and return that value.

    Exceptions listed in ``ignore`` count as a falsy answer (e.g. a connection refused while a
    service starts). ``abort`` is asked before every attempt; a reason from it ends the wait at
    once with PollAborted (a child that exited will not start answering). After ``timeout``
    seconds: PollTimeout, with ``message`` and the last value or exception seen.
    """
    poll = _Poll(timeout, interval, message, abort)
    while True:
        poll.check_abort()
        try:
            value = fn()
        except ignore as exc:
            poll.last = exc
        else:
            if value:
                return value
            poll.last = value
        # The poll interval itself, bounded by the deadline: the one sleep of every wait.
        time.sleep(poll.pause())


async def apoll_until(
    fn: Callable[[], Awaitable[T | None]],
    *,
    timeout: float,
    interval: float = 0.1,
    message: str = "condition not met",
    ignore: tuple[type[BaseException], ...] = (),
    abort: Callable[[], str | None] | None = None,
) -> T:
    """`poll_until` for a coroutine function, waiting on the event loop instead of the thread."""
    poll = _Poll(timeout, interval, message, abort)
    while True:
        poll.check_abort()
        try:
            value = await fn()
        except ignore as exc:
            poll.last = exc
        else:
            if value:
                return value
            poll.last = value
        await asyncio.sleep(poll.pause())  # the poll interval, bounded by the deadline
