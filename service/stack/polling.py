"""Bounded polling: the only way the stack waits for anything.

Every wait has a deadline and names what it waited for, so a stack that does not come up fails
with a sentence instead of hanging a CI job.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class StackError(RuntimeError):
    """The stack could not start (or restart) a part; the message carries the part's log tail."""


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    abort: Callable[[], str | None] | None = None,
) -> None:
    """Poll ``condition`` until it is true; raise ``StackError`` after ``timeout`` seconds.

    ``abort`` is asked before every attempt; a non-None answer (e.g. "the process exited, here is
    its log") ends the wait at once instead of letting it run into the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        if abort is not None:
            reason = abort()
            if reason is not None:
                raise StackError(f"gave up waiting for {what}: {reason}")
        if condition():
            return
        if time.monotonic() >= deadline:
            raise StackError(f"timed out after {timeout:.0f} s waiting for {what}")
        # The interval of a readiness probe with a deadline, not synchronisation by sleeping.
        time.sleep(interval)
