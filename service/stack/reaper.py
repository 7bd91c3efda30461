"""Last line of defence: kill the stack's children when the process that started them dies hard.

Children run in their own sessions (see ``processes``), so nothing else stops them if the parent
is SIGKILLed, or exits through ``os._exit`` (pytest-timeout's thread method, a crashed xdist
worker). One small reaper process per parent receives ``+PID``/``-PID`` lines on its stdin for
every child started/stopped; when stdin reaches EOF, which the kernel guarantees however the
parent ends, it SIGTERMs the process groups still listed and SIGKILLs them after a grace period.
After a clean stop the list is empty and the reaper just exits.

Runnable as a plain script (stdlib only) so that it starts fast and imports nothing of ours.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

GRACE_S = 5.0


class Reaper:
    """The parent's side: starts the reaper lazily and tells it about children."""

    def __init__(self) -> None:
        self._popen: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def track(self, pid: int) -> None:
        self._send(f"+{pid}\n")

    def forget(self, pid: int) -> None:
        self._send(f"-{pid}\n")

    def _send(self, line: str) -> None:
        with self._lock:
            if self._popen is None:
                self._popen = subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    start_new_session=True,  # a terminal's Ctrl-C must not reach it
                )
            assert self._popen.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self._popen.stdin.write(line.encode())
                self._popen.stdin.flush()

    def close(self) -> None:
        """At a clean exit: EOF to the reaper (nothing left to kill) and reap it."""
        with self._lock:
            if self._popen is None or self._popen.stdin is None:
                return
            with contextlib.suppress(BrokenPipeError):
                self._popen.stdin.close()
            try:
                self._popen.wait(timeout=GRACE_S + 5)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
            self._popen = None


REAPER = Reaper()
# Registered at import, before any Stack registers its own stop, so that it runs last (LIFO).
atexit.register(REAPER.close)


def _signal_groups(pgids: set[int], signum: int) -> set[int]:
    """Signal each group; return those that still exist."""
    alive = set()
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)
            alive.add(pgid)
    return alive


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pgids: set[int] = set()
    for line in sys.stdin:
        text = line.strip()
        if text[:1] == "+":
            pgids.add(int(text[1:]))
        elif text[:1] == "-":
            pgids.discard(int(text[1:]))
    alive = _signal_groups(pgids, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)  # nobody to wait() for: these are not our children
        alive = _signal_groups(alive, 0)
    _signal_groups(alive, signal.SIGKILL)


if __name__ == "__main__":
    main()
