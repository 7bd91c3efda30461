"""Coverage plug-in for the stack's processes: label what runs with the check running now.

The lines a check makes the platform execute run in other processes (API, workers, poller), so
coverage.py's ``dynamic_context = test_function`` (which sees only the pytest process) cannot
name the check. Instead every measured process follows one small file that the pytest side
(``bench.mutants.labels``) rewrites with the node id of each check as it starts, and switches
coverage's context to it. Checks run one after another, so "executed while check X ran" is
"executed because of X", up to work X left behind (a job still retrying) that lands in the
next check's label as well. A switch also flushes the process's data to its file, so a worker
the suite SIGKILLs loses at most what it ran under its last label.

Configured by the rc file the coverage map writes: ``[run] plugins = bench.mutants.covctx`` and
``[bench.mutants.covctx] label_file = PATH``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import coverage
from coverage.exceptions import CoverageException

# How often a process looks at the label file. Checks last seconds; 50 ms of one check's work
# counted under its neighbour only widens the neighbour's selection.
POLL_S = 0.05


def follow(label_file: Path, stop: threading.Event) -> None:
    """Switch the running Coverage's context to the label in ``label_file`` whenever it changes."""
    current: str | None = None
    while not stop.wait(POLL_S):  # the poll interval of a watcher, not a synchronisation
        try:
            label = label_file.read_text().strip()
        except OSError:
            continue
        cov = coverage.Coverage.current()
        if not label or label == current or cov is None:
            continue
        try:
            cov.switch_context(label)
        except CoverageException:  # not started yet: try again at the next poll
            continue
        current = label


def coverage_init(reg: Any, options: dict[str, str]) -> None:
    """coverage.py's plug-in entry point: start the follower thread (it registers no tracer)."""
    del reg
    label_file = Path(options["label_file"])
    thread = threading.Thread(
        target=follow, args=(label_file, threading.Event()), name="coverage-labels", daemon=True
    )
    thread.start()
