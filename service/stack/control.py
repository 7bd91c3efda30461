"""The reference stack's operator hooks: stop and resume its workers, as ``kubectl scale`` would.

``python -m service.stack.control --stack stack.json workers down`` freezes every worker process
(SIGSTOP: they hold their jobs and stop beating, as a hung or descheduled pod does) and ``...
workers up`` resumes them (SIGCONT). The suite's ``[faults] workers_down`` / ``workers_up`` hooks
run exactly this against the stack, so the stopped-workers check takes one path for the
reference stack and for a deployment whose operator names ``kubectl`` instead. The pids are read
from ``stack.json`` at each call: the stack's supervisor may have replaced a worker since.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from service.stack.info import StackInfo

SIGNALS = {"down": signal.SIGSTOP, "up": signal.SIGCONT}


def worker_pids(info: StackInfo) -> dict[str, int]:
    """The stack's worker processes by name."""
    return {name: pid for name, pid in info.pids.items() if name.startswith("worker")}


def signal_workers(info: StackInfo, action: str) -> dict[str, int]:
    """Send the action's signal to every worker; the ones signalled."""
    pids = worker_pids(info)
    for pid in pids.values():
        os.kill(pid, SIGNALS[action])
    return pids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.stack.control")
    parser.add_argument("--stack", required=True, type=Path, help="stack.json of the stack")
    parser.add_argument("part", choices=["workers"])
    parser.add_argument("action", choices=sorted(SIGNALS))
    args = parser.parse_args(argv)
    info = StackInfo.load(args.stack)
    try:
        done = signal_workers(info, args.action)
    except ProcessLookupError as exc:
        sys.stderr.write(f"a worker is gone: {exc}\n")
        return 1
    if not done:
        sys.stderr.write("the stack runs no workers\n")
        return 1
    sys.stdout.write(f"workers {args.action}: {', '.join(sorted(done))}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
