"""Parse untrusted content in a resource-limited subprocess, so hostile input cannot take the
worker (or the API) down with it.

What the limits are, honestly:

- CPU: ``RLIMIT_CPU`` = ``sandbox_cpu_s`` (SIGXCPU, SIGKILL a second later), plus a wall-clock
  timeout (``sandbox_timeout_s``) after which the parent kills the child (a parser blocked on
  nothing CPU-bound).
- Memory: ``RLIMIT_AS`` = ``sandbox_memory_mb`` of address space: an allocation past it fails
  with MemoryError in the child.
- Files: the child runs in a fresh scratch directory removed afterwards; ``RLIMIT_FSIZE`` caps
  what it may write there; an audit hook refuses opening for write, renaming or deleting anything
  outside it; ``RLIMIT_NOFILE`` is small.
- Network and processes: no namespaces here (``unshare`` is unavailable), so the child blocks
  itself: an audit hook refuses ``socket.__new__``/``connect``/``bind``/``getaddrinfo`` and
  process creation, ``socket.socket`` is replaced, and ``RLIMIT_NPROC`` is 0 (for non-root).
  These guard the Python parsers we run; native code in a C extension could bypass an audit hook,
  which is why the parsers are pure Python plus expat (via defusedxml).
- Environment: the child gets no ``PLATFORM_*`` variable, so no secret is within its reach.

With ``sandbox_enabled=false`` the same parsers run in-process with none of this (unsafe; the
``opsec.sandbox`` check shows it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException

from service.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_INPUT_BYTES = 8 * 1024 * 1024
# File descriptors of the child: stdio plus the few a parser needs; imports are done by then.
NOFILE = 16
PROBES = ("cpu", "memory", "write", "connect", "xml-bomb")
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol6;</title></feed>"""


class SandboxError(Exception):
    """The content was not parsed: a limit stopped it, it was refused, or it is malformed."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Limits:
    cpu_s: int
    memory_mb: int
    file_mb: int
    timeout_s: float
    nofile: int = NOFILE
    max_input_bytes: int = MAX_INPUT_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.sandbox_cpu_s,
            settings.sandbox_memory_mb,
            settings.sandbox_file_mb,
            settings.sandbox_timeout_s,
        )


def _reason_of_signal(code: int) -> str:
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return "cpu_limit"
    if code == -signal.SIGXFSZ:
        return "file_limit"
    return "crashed"


def run(task: str, data: bytes, limits: Limits) -> dict[str, Any]:
    """Run parser ``task`` on ``data`` in a limited child; its result, or SandboxError."""
    if len(data) > limits.max_input_bytes:
        raise SandboxError("too_large", f"{len(data)} bytes > {limits.max_input_bytes}")
    scratch = Path(tempfile.mkdtemp(prefix="pf-sandbox-"))
    env = {
        "PATH": os.defpath,
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
    }
    spec = json.dumps({**asdict(limits), "scratch": str(scratch), "sandboxed": True})
    argv = [sys.executable, "-m", "service.security.sandbox_child", task, spec]
    try:
        done = subprocess.run(
            argv,
            input=data,
            capture_output=True,
            cwd=scratch,
            env=env,
            timeout=limits.timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SandboxError("timeout", f"no answer within {limits.timeout_s:g} s") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _outcome(done)


def _outcome(done: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    try:
        body = json.loads(done.stdout or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("ok"):
        result: dict[str, Any] = body["result"]
        return result
    if isinstance(body, dict):
        raise SandboxError(str(body.get("reason")), str(body.get("error")))
    if done.returncode < 0:
        signum = -done.returncode
        raise SandboxError(_reason_of_signal(done.returncode), f"killed by signal {signum}")
    tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    reason = "memory_limit" if "MemoryError" in tail[0] else "crashed"
    raise SandboxError(reason, f"exit {done.returncode}: {tail[0][:200]}")


def run_unsandboxed(task: str, data: bytes, limits: Limits) -> dict[str, Any]:
    """The same parser in-process, without limits (``sandbox_enabled=false``: unsafe)."""
    from service.security.sandbox_child import run_task  # the child module is import-safe

    try:
        return run_task(task, data, {**asdict(limits), "scratch": tempfile.gettempdir()})
    except MemoryError as exc:
        raise SandboxError("memory_limit", "MemoryError") from exc
    except DefusedXmlException as exc:
        raise SandboxError("xml_forbidden", type(exc).__name__) from exc
    except Exception as exc:
        raise SandboxError("parse_error", f"{type(exc).__name__}: {exc}") from exc


async def parse(settings: Settings, task: str, data: bytes) -> dict[str, Any]:
    """Parse untrusted ``data`` with parser ``task`` (atom, html, markdown) off the event loop."""
    limits = Limits.from_settings(settings)
    runner = run if settings.sandbox_enabled else run_unsandboxed
    return await asyncio.to_thread(runner, task, data, limits)


async def probe(settings: Settings, kind: str) -> dict[str, Any]:
    """Feed one kind of hostile input; says whether (and how) it was stopped."""
    if kind not in PROBES:
        raise ValueError(f"unknown probe {kind!r}")
    task, data = ("atom", BILLION_LAUGHS) if kind == "xml-bomb" else (f"probe:{kind}", b"")
    started = time.monotonic()
    try:
        result = await parse(settings, task, data)
    except SandboxError as exc:
        stopped, reason, detail = True, exc.reason, str(exc)
    else:
        stopped, reason, detail = False, "completed", json.dumps(result)[:200]
    return {
        "kind": kind,
        "stopped": stopped,
        "reason": reason,
        "detail": detail,
        "sandboxed": settings.sandbox_enabled,
        "elapsed_s": round(time.monotonic() - started, 3),
    }
