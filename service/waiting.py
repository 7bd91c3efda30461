"""Bounded polling: the only way a check waits for the target.

A bare sleep either wastes time or is too short on a slow machine; a poll with a deadline does
neither and, when it gives up, says what it was waiting for and what it saw last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class PollTimeout(AssertionError, TimeoutError):
    """The condition never held; an AssertionError so the check fails (not errors) on it."""

    def __init__(self, message: str, last: object, attempts: int, elapsed_s: float) -> None:
        super().__init__(
            f"{message} (gave up after {elapsed_s:.1f} s, {attempts} attempts; "
            f"last value: {last!r})"
        )
        self.last = last
        self.attempts = attempts
        self.elapsed_s = elapsed_s


def poll_until(
    fn: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.1,
    message: str = "condition not met",
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``fn`` until it returns something truthy and return that value.

    Exceptions listed in ``ignore`` count as a falsy answer (e.g. a connection refused while a
    service starts). Raises PollTimeout (an AssertionError and a TimeoutError) after ``timeout``
    seconds with ``message`` and the last value or exception seen.
    """
    if timeout <= 0 or interval <= 0:
        raise ValueError("timeout and interval must be positive")
    start = time.monotonic()
    deadline = start + timeout
    attempts = 0
    last: object = None
    while True:
        attempts += 1
        try:
            value = fn()
        except ignore as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        now = time.monotonic()
        if now >= deadline:
            raise PollTimeout(message, last, attempts, now - start)
        # The poll interval itself, bounded by the deadline: this is the one sleep of the suite.
        time.sleep(min(interval, deadline - now))
