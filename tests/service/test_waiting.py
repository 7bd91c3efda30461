"""service/waiting.py: bounded waits that return the value or fail with what they last saw."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from service.waiting import PollAborted, PollTimeout, apoll_until, poll_until


def test_returns_first_truthy_value() -> None:
    """The value that ended the wait is handed back."""
    counter = itertools.count()
    assert poll_until(lambda: next(counter) >= 3 and "ready", timeout=5, interval=0.001) == "ready"


def test_times_out_with_message_and_last_value() -> None:
    """After the deadline: an AssertionError (so checks fail) naming the wait and last value."""
    with pytest.raises(AssertionError, match=r"queue to drain .*last value: 0"):
        poll_until(lambda: 0, timeout=0.05, interval=0.01, message="queue to drain")


def test_timeout_is_also_a_timeout_error() -> None:
    """Callers may catch TimeoutError too."""
    with pytest.raises(TimeoutError):
        poll_until(lambda: None, timeout=0.02, interval=0.01)


def test_ignored_exceptions_count_as_not_yet() -> None:
    """A connection refused while something starts is retried, then reported as the last value."""

    def refuse() -> bool:
        raise ConnectionRefusedError("not up")

    with pytest.raises(PollTimeout, match="not up"):
        poll_until(refuse, timeout=0.03, interval=0.01, ignore=(ConnectionRefusedError,))


def test_other_exceptions_propagate() -> None:
    """Exceptions not listed in ``ignore`` are bugs and surface at once."""
    with pytest.raises(ZeroDivisionError):
        poll_until(lambda: 1 / 0, timeout=1)


def test_rejects_nonpositive_bounds() -> None:
    """A zero timeout would be a bare check, not a wait."""
    with pytest.raises(ValueError, match="positive"):
        poll_until(lambda: True, timeout=0)


def test_abort_ends_the_wait_at_once() -> None:
    """A reason from ``abort`` (say, the process exited) stops the wait before its deadline."""
    with pytest.raises(PollAborted, match="server to answer: gave up: exited with 1") as raised:
        poll_until(
            lambda: None, timeout=60, message="server to answer", abort=lambda: "exited with 1"
        )
    assert raised.value.reason == "exited with 1"


async def _async_counter(counter: itertools.count[int]) -> str | None:
    return "ready" if next(counter) >= 2 else None


def test_async_poll_returns_first_truthy_value() -> None:
    """apoll_until awaits the coroutine until it answers, on the event loop."""
    counter = itertools.count()
    value = asyncio.run(apoll_until(lambda: _async_counter(counter), timeout=5, interval=0.001))
    assert value == "ready"


def test_async_poll_times_out() -> None:
    """The async wait fails the same way as the sync one."""

    async def never() -> None:
        return None

    with pytest.raises(PollTimeout, match="never"):
        asyncio.run(apoll_until(never, timeout=0.03, interval=0.01, message="never"))
