"""Running an operator's command (a log query, a fault hook): bounded, quiet, and redacted.

The command comes from configuration, so it is split with shlex and run without a shell unless
the operator asked for one; placeholders are replaced inside each argument, so a value with
spaces stays one argument and no value is ever parsed as shell syntax. It runs in its own
process group, which is killed when it outlives its timeout (``kubectl`` and ``logcli`` start
helpers of their own) and after it ends (no helper outlives the check). Output goes to
temporary files, not pipes, so a chatty command cannot block on a full pipe nor fill the
suite's memory before the size bound is checked. Whatever of it reaches a report (its line, its
stderr) passes through a ``Redactor`` first.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class CommandError(Exception):
    """The command could not start, failed, timed out or printed too much (message redacted)."""


class CommandTimeout(CommandError):
    """The command outlived its timeout and was killed."""


@dataclass(frozen=True)
class Finished:
    """A command that exited (with status 0 unless run with ``check=False``)."""

    stdout: bytes
    stderr: bytes
    elapsed_s: float
    returncode: int = 0


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace the known ``{name}`` placeholders; any other brace (LogQL's ``{app="x"}``) stays."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def argv_of(template: str, values: Mapping[str, str], *, shell: bool) -> list[str]:
    """The argument vector: shlex-split and substituted, or one quoted script for /bin/sh."""
    if shell:
        quoted = {name: shlex.quote(value) for name, value in values.items()}
        return ["/bin/sh", "-c", substitute(template, quoted)]
    try:
        return [substitute(arg, values) for arg in shlex.split(template)]
    except ValueError as exc:  # unbalanced quotes: report the template's fault, not a traceback
        raise CommandError(f"cannot split the command line: {exc}") from exc


def shown(argv: list[str], redact: Callable[[str], str]) -> str:
    """What a report may show of a command line: the program's name and a redacted form."""
    if not argv:
        return "(empty command)"
    line = argv[2] if argv[:2] == ["/bin/sh", "-c"] and len(argv) > 2 else shlex.join(argv)
    return f"{Path(argv[0]).name} ({redact(line)[:300]})"


def head(data: bytes, lines: int, redact: Callable[[str], str]) -> str:
    """The first ``lines`` non-empty lines of some output, redacted, joined with ' | '."""
    text = data[:16_384].decode("utf-8", errors="replace")
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()][:lines]
    return redact(" | ".join(kept))[:600] if kept else "(nothing)"


def _read(file: IO[bytes], limit: int) -> bytes:
    file.seek(0)
    return file.read(limit + 1)


def run(
    argv: list[str],
    *,
    timeout_s: float,
    max_output_bytes: int,
    redact: Callable[[str], str],
    stderr_lines: int = 5,
    check: bool = True,
) -> Finished:
    """Run ``argv`` to completion within ``timeout_s``; a CommandError says why it did not (a
    non-zero status too, unless ``check`` is False: then the status is the answer)."""
    what = shown(argv, redact)
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(  # the operator's own configured command
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except OSError as exc:
            raise CommandError(f"{what} could not start: {exc.strerror or exc}") from exc
        try:
            status = process.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(process)
        stderr = _read(err, 65_536)
        if timed_out:
            raise CommandTimeout(
                f"{what} did not finish within {timeout_s:g} s and was killed; "
                f"stderr: {head(stderr, stderr_lines, redact)}"
            )
        if status != 0 and check:
            raise CommandError(
                f"{what} exited with status {status}; stderr: {head(stderr, stderr_lines, redact)}"
            )
        stdout = _read(out, max_output_bytes)
    if len(stdout) > max_output_bytes:
        raise CommandError(f"{what} printed more than {max_output_bytes} bytes")
    return Finished(stdout, stderr, time.monotonic() - started, status)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill whatever is left of the command's process group, then reap the command."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
