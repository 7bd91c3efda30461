"""The local reference stack: Valkey, the API behind nginx over HTTPS with its own CA, workers,
emulators.

Two ways in, booting the same thing (see docs/DESIGN.md, "Stack contract"):

``start_stack(options)``
    Context manager yielding ``StackInfo`` (the contents of ``stack.json``). For callers that only
    need URL, keys, CA and logs: the pytest plugin, scripts.

``running_stack(options)``
    Context manager yielding the ``Stack`` handle, for checks that inject faults::

        with running_stack(StackOptions(workers=2)) as stack:
            pid = stack.kill_worker("worker-1")
            stack.wait_for_worker_restart("worker-1", pid)   # info.pids updated, json rewritten
            stack.stop_redis(); stack.start_redis()          # same port and dir, AOF replayed
            stack.stop_workers(); stack.start_workers()      # on purpose: not restarted meanwhile

    ``stack.info`` is the live ``StackInfo``: the supervisor updates it in place (``pids``,
    ``restarts``) and rewrites ``stack.json`` whenever it restarts a worker.

Both wait (bounded polls) until ``GET /health/live`` answers over HTTPS verified with the
generated CA (through the ingress, where nginx runs: ``ingress.py``) and ``/health`` counts every
worker alive; both stop everything on exit (workers,
emulators and API, then Valkey: SIGTERM, bounded wait, SIGKILL), also when the boot fails, in
which case ``StackError`` carries the tail of the failing child's log. Ports are free loopback
ports with a retry on a clash and each stack has its own directory, so stacks run in parallel.
Emulators join through ``service.stack.components.AUXILIARY_SERVICES``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from service.stack.components import AUXILIARY_SERVICES, AuxiliaryContext, AuxiliaryService
from service.stack.core import Stack
from service.stack.info import StackInfo, StackKeys
from service.stack.options import StackOptions
from service.stack.polling import StackError
from service.stack.settings import StackSettings

__all__ = [
    "AUXILIARY_SERVICES",
    "AuxiliaryContext",
    "AuxiliaryService",
    "Stack",
    "StackError",
    "StackInfo",
    "StackKeys",
    "StackOptions",
    "StackSettings",
    "running_stack",
    "start_stack",
]


@contextlib.contextmanager
def running_stack(
    options: StackOptions | None = None, settings: StackSettings | None = None
) -> Iterator[Stack]:
    """Boot a stack, yield its ``Stack`` handle, stop it on exit."""
    stack = Stack(options if options is not None else StackOptions(), settings)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@contextlib.contextmanager
def start_stack(
    options: StackOptions | None = None, settings: StackSettings | None = None
) -> Iterator[StackInfo]:
    """Boot a stack, yield its ``StackInfo`` (kept current), stop it on exit."""
    with running_stack(options, settings) as stack:
        yield stack.info
