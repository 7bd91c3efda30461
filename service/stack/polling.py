"""The stack's errors, and its face of the one bounded wait (`service.waiting`).

Every wait of the stack has a deadline and names what it waited for, so a stack that does not
come up fails with a sentence instead of hanging a CI job; the sentence is a `StackError`, the one
error the stack's callers (the CLI, the suite's boot) catch.
"""

from __future__ import annotations

from collections.abc import Callable

from service.waiting import WaitFailed, poll_until


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
    """`poll_until` whose failure (timeout, or a reason from ``abort``) is a StackError."""
    try:
        poll_until(
            condition,
            timeout=timeout,
            interval=interval,
            message=f"waiting for {what}",
            abort=abort,
        )
    except WaitFailed as exc:
        raise StackError(str(exc)) from exc
