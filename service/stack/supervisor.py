"""The worker supervisor: a thread that starts again any worker that exits on its own.

Production runs workers under a process manager that restarts them; the stack does the same so
that "a dead worker is replaced" is something the suite can check (kill one, watch the new pid in
``stack.json``). A worker that dies right after starting is restarted with a growing delay, so a
broken worker build shows up as a crash loop in its log rather than as a busy CPU.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from service.stack.processes import ManagedProcess

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.1
# A worker that lived shorter than this counts as a crash loop and is restarted with a backoff.
HEALTHY_RUN_S = 5.0
MAX_BACKOFF_S = 5.0


class Supervisor:
    """Watches ``workers``; restarts (or just records) the ones that exit unexpectedly."""

    def __init__(
        self,
        workers: dict[str, ManagedProcess],
        *,
        restart: bool,
        lock: threading.RLock,
        on_restart: Callable[[str, ManagedProcess], None],
    ) -> None:
        self.workers = workers
        self.restart = restart
        self.restarts: dict[str, int] = dict.fromkeys(workers, 0)
        self.exited: dict[str, int] = {}
        self.paused: set[str] = set()
        self._lock = lock
        self._on_restart = on_restart
        self._started_at: dict[str, float] = dict.fromkeys(workers, time.monotonic())
        self._fast_failures: dict[str, int] = dict.fromkeys(workers, 0)
        self._due: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (before the workers are stopped, so none is restarted on the way out)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def pause(self, name: str) -> None:
        """Leave ``name`` alone (a check stops it on purpose); call under the stack's lock."""
        self.paused.add(name)

    def resume(self, name: str) -> None:
        """Watch ``name`` again after the stack started it itself; call under the stack's lock."""
        self.paused.discard(name)
        self._due.pop(name, None)
        self.exited.pop(name, None)
        self._started_at[name] = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(POLL_INTERVAL_S):
            with self._lock:
                for name, proc in self.workers.items():
                    self._check(name, proc)

    def _check(self, name: str, proc: ManagedProcess) -> None:
        if proc.popen is None or proc.popen.poll() is None or name in self.paused:
            return
        now = time.monotonic()
        if name not in self._due:
            code = proc.popen.returncode
            self.exited[name] = code
            if not self.restart:
                self._due[name] = float("inf")  # recorded once, never restarted
                logger.warning("%s exited with code %s; not restarting (--no-restart)", name, code)
                return
            lived = now - self._started_at.get(name, now)
            fast = self._fast_failures[name] + 1 if lived < HEALTHY_RUN_S else 0
            self._fast_failures[name] = fast
            delay = 0.0 if fast == 0 else min(0.25 * 2 ** (fast - 1), MAX_BACKOFF_S)
            self._due[name] = now + delay
            logger.warning("%s exited with code %s; restarting in %.2f s", name, code, delay)
        if now < self._due[name]:
            return
        del self._due[name]
        proc.start()
        self._started_at[name] = time.monotonic()
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self._on_restart(name, proc)
