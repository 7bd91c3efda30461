"""Child processes of the stack: start with a log file, stop for sure, show what went wrong.

Each child runs in its own session (``start_new_session``): a Ctrl-C in the terminal then reaches
only the stack, which stops the children itself, in order (workers, API, datastore), instead of
every process receiving SIGINT at once and the datastore vanishing under a draining worker.
The price is that nobody else stops them, hence the atexit hook in the stack, the bounded
SIGTERM-then-SIGKILL here and, for a parent that dies hard, the reaper (``reaper.py``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from service.stack.polling import StackError, wait_until
from service.stack.ports import free_port, is_port_clash
from service.stack.reaper import REAPER

logger = logging.getLogger(__name__)

PORT_ATTEMPTS = 5
LOG_TAIL_LINES = 40


class ManagedProcess:
    """One child: its argv, environment and log file; restartable with the same settings."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def start(self) -> None:
        """Start the child, appending its stdout and stderr to ``log_path``."""
        if self.popen is not None and self.popen.poll() is not None:
            REAPER.forget(self.popen.pid)  # a restart: the old pid may be reused by anyone
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        REAPER.track(self.popen.pid)
        logger.debug("started %s (pid %s): %s", self.name, self.popen.pid, self.argv)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def exit_reason(self) -> str | None:
        """None while running; otherwise the exit status and the end of the log."""
        if self.popen is None or self.popen.poll() is None:
            return None
        return f"{self.name} exited with code {self.popen.returncode}\n{self.log_tail()}"

    def log_since_start(self) -> str:
        """What this child wrote since its latest start (the log file is shared by restarts)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        tail = self.log_since_start().splitlines()[-lines:]
        return f"--- last {len(tail)} lines of {self.log_path} ---\n" + "\n".join(tail)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the child's whole process group (it may have children of its own)."""
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def stop(self, timeout: float) -> None:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL; always reaps the child."""
        stop_all([self], timeout)


def stop_all(processes: Iterable[ManagedProcess], timeout: float) -> None:
    """Stop several children in parallel: SIGTERM to all, one shared deadline, SIGKILL the rest."""
    running = [p for p in processes if p.popen is not None]
    for proc in running:
        proc.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in running:
        assert proc.popen is not None
        try:
            proc.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s ignored SIGTERM for %.0f s; killing it", proc.name, timeout)
            proc.signal(signal.SIGKILL)
            proc.popen.wait(timeout=timeout)
        # Leftovers of the group (grandchildren) go with their leader.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.popen.pid, signal.SIGKILL)
        REAPER.forget(proc.popen.pid)


def launch_on_free_port(
    build: Callable[[int], ManagedProcess],
    ready: Callable[[int], bool],
    *,
    timeout: float,
    what: str,
    port: int | None = None,
) -> tuple[ManagedProcess, int]:
    """Start ``build(port)`` and poll ``ready(port)``; on a port clash, retry on another port.

    With a fixed ``port`` (a restart that must keep its address) a clash is an error.
    """
    for _attempt in range(PORT_ATTEMPTS):
        chosen = port if port is not None else free_port()
        proc = build(chosen)
        proc.start()
        try:
            wait_until(
                functools.partial(ready, chosen),
                timeout=timeout,
                what=f"{what} on port {chosen}",
                abort=proc.exit_reason,
            )
        except StackError:
            stop_all([proc], timeout=5)
            if port is None and is_port_clash(proc.log_since_start()):
                logger.info("port %s was taken before %s bound it; retrying", chosen, what)
                continue
            raise
        return proc, chosen
    raise StackError(f"{what}: no free port after {PORT_ATTEMPTS} attempts")
