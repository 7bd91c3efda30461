"""The reference stack's operator hooks: what ``kubectl`` or a deploy tool does to a deployment.

``python -m service.stack.control --stack stack.json workers down`` freezes every worker process
(SIGSTOP: they hold their jobs and stop beating, as a hung or descheduled pod does) and ``...
workers up`` resumes them (SIGCONT). ``... start-without-secrets`` starts the API as the stack
starts it but with no API keys, and ends with its exit status and output (124 when it is still
running at ``--timeout``), as ``docker run`` of the release image without its secrets would.

The suite's ``[faults] workers_down`` / ``workers_up`` / ``start_without_secrets`` hooks run
exactly these against the stack, so the checks take one path for the reference stack and for a
deployment whose operator names its own tools instead. The pids are read from ``stack.json`` at
each call: the stack's supervisor may have replaced a worker since.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from service.stack.info import StackInfo

SIGNALS = {"down": signal.SIGSTOP, "up": signal.SIGCONT}
STILL_RUNNING = 124  # the status `timeout` uses: the service did not refuse to start
REPO_ROOT = Path(__file__).resolve().parents[2]


def worker_pids(info: StackInfo) -> dict[str, int]:
    """The stack's worker processes by name."""
    return {name: pid for name, pid in info.pids.items() if name.startswith("worker")}


def signal_workers(info: StackInfo, action: str) -> dict[str, int]:
    """Send the action's signal to every worker; the ones signalled."""
    pids = worker_pids(info)
    for pid in pids.values():
        os.kill(pid, SIGNALS[action])
    return pids


def start_without_secrets(info: StackInfo, timeout_s: float) -> tuple[int, str]:
    """Start the API with the stack's settings but no API keys; its status and output."""
    # Only the stack's own settings: nothing of the caller's environment may supply a key.
    env = {**info.settings, "PLATFORM_API_KEYS": "{}"}
    # An admin key is kept, so the refusal can only be about the missing API keys.
    env["PLATFORM_ADMIN_KEYS"] = json.dumps({"ops": "x" * 8 + "preflight-refusal-probe-key"})
    env["PYTHONPATH"] = str(REPO_ROOT)
    argv = [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", "0"]
    try:
        done = subprocess.run(  # our own interpreter and module
            argv, cwd=info.dir, env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as expired:
        output = expired.stderr if isinstance(expired.stderr, str) else ""
        return STILL_RUNNING, output + f"\nstill running after {timeout_s:g} s\n"
    return done.returncode, done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.stack.control")
    parser.add_argument("--stack", required=True, type=Path, help="stack.json of the stack")
    parts = parser.add_subparsers(dest="part", required=True)
    workers = parts.add_parser("workers", help="stop (down) or resume (up) every worker")
    workers.add_argument("action", choices=sorted(SIGNALS))
    start = parts.add_parser("start-without-secrets", help="start the API with no API keys")
    start.add_argument("--timeout", type=float, default=30.0, help="seconds (default: 30)")
    args = parser.parse_args(argv)
    info = StackInfo.load(args.stack)
    if args.part == "start-without-secrets":
        status, output = start_without_secrets(info, args.timeout)
        sys.stdout.write(output)
        return status
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
