"""A copy of the checkout, the reference stack booted from it, and the checks run against it.

The stack runs the code of the checkout it is started from (its children get that checkout on
``PYTHONPATH``, service/stack/environment.py), so a mutant is tested by booting
``python -m service.stack`` in a copy that holds the mutated file. The bench boots the stack
itself (rather than letting pytest do it) to time the boot apart from the checks and to tell a
mutant that stops the platform from booting from one a check catches; pytest then gets the
stack with ``--stack`` and ``--allow-destructive``, which is what the suite does with a stack it
booted.

The copy is a ``git clone --shared`` of the checkout (the objects are borrowed, nothing is
written to the original repository) at the checkout's HEAD, with the working tree's modified and
untracked files laid over it: checks that ask git for HEAD or for a previous release's commit
find them, and an uncommitted change is measured as it is.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.waiting import WaitFailed, poll_until

GIT = shutil.which("git") or "git"
# Seconds the stack gets to stop its children after SIGTERM before it is killed.
STOP_TIMEOUT_S = 90.0
# How often boot readiness is looked at: a boot takes seconds.
POLL_S = 0.2
LOG_TAIL_CHARS = 2000


class BootFailed(Exception):
    """The stack did not come up: the reason and the end of its output."""


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [GIT, *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout


def copy_checkout(source: Path, dest: Path) -> None:
    """``dest`` becomes the working tree of ``source`` as it is now, with git history."""
    head = _git(source, "rev-parse", "HEAD").strip()
    _git(source.parent, "clone", "--quiet", "--shared", "--no-checkout", str(source), str(dest))
    _git(dest, "checkout", "--quiet", "--detach", head)
    changed = _git(source, "ls-files", "--modified", "--others", "--exclude-standard", "-z")
    for name in filter(None, changed.split("\0")):
        target = dest / name
        if (source / name).is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target)
        else:  # deleted in the working tree
            target.unlink(missing_ok=True)


def child_env(checkout: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The bench's environment for a child run in ``checkout``: that checkout first on the path.

    ``PLATFORM_*`` is dropped as the stack itself does; ``COVERAGE_*`` too, so that only the
    coverage map, which sets it, measures anything.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "COVERAGE_"))}
    env["PYTHONPATH"] = str(checkout)
    env.update(extra or {})
    return env


@dataclass
class Booted:
    stack_json: Path
    boot_s: float


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
    return ""


@contextlib.contextmanager
def booted_stack(
    checkout: Path, workdir: Path, *, timeout_s: float, env: Mapping[str, str]
) -> Iterator[Booted]:
    """Boot ``python -m service.stack`` from ``checkout``; stop it (SIGTERM, then SIGKILL) after.

    Raises BootFailed when the stack exits or is not up within ``timeout_s``.
    """
    stack_json, log = workdir / "stack.json", workdir / "stack.out"
    argv = [
        sys.executable,
        "-m",
        "service.stack",
        "--dir",
        str(workdir / "stack"),
        "--json-out",
        str(stack_json),
        "--startup-timeout",
        str(timeout_s),
    ]
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=checkout,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # The stack gives up by itself after timeout_s; the margin covers its stopping.
        try:
            poll_until(
                stack_json.exists,
                timeout=timeout_s + 30,
                interval=POLL_S,
                message=f"the stack to write {stack_json.name}",
                abort=lambda: None if proc.poll() is None else f"it exited with {proc.returncode}",
            )
        except WaitFailed as exc:
            raise BootFailed(f"{exc}: {_tail(log)}") from exc
        yield Booted(stack_json, time.monotonic() - started)
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


@dataclass
class ChecksRun:
    exit: int | None  # None: timed out
    checks_s: float
    checklist: dict[str, Any] | None  # checklist.json, when pytest wrote one


def run_checks(
    checkout: Path,
    stack_json: Path,
    report_dir: Path,
    *,
    ids: Sequence[str],
    timeout_s: float,
    env: Mapping[str, str],
    extra_args: Sequence[str] = (),
) -> ChecksRun:
    """``pytest -m preflight`` (only ``ids`` when given) in ``checkout`` against the stack."""
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "preflight",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--stack={stack_json}",
        "--allow-destructive",
        f"--report-dir={report_dir}",
        *(f"--checklist-id={i}" for i in ids),
        *extra_args,
    ]
    started = time.monotonic()
    code: int | None
    with (report_dir.parent / f"{report_dir.name}.log").open("wb") as out:
        # Its own process group: on timeout the checks' own children (Locust, schemathesis)
        # go with it.
        proc = subprocess.Popen(
            argv,
            cwd=checkout,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
            code = None
    checks_s = time.monotonic() - started
    path = report_dir / "checklist.json"
    checklist = json.loads(path.read_text()) if path.is_file() else None
    return ChecksRun(code, checks_s, checklist)
