"""The sandboxed side: ``python -m service.security.sandbox_child TASK LIMITS_JSON``.

Started by ``service.security.sandbox``.

Order matters: modules are imported first, then the limits go on, then stdin (the untrusted bytes)
is read and parsed. Limits (see ``service.security.sandbox`` for what each one stops and what none
of them stops): RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC; an audit hook
(cannot be removed once added) refuses sockets, writes outside the scratch directory and process
creation; ``socket.socket`` is replaced as well, for code that reaches it before the hook fires.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException

from service.ingest.parsers import PARSERS

EXIT_VIOLATION = 3
EXIT_MEMORY = 4
EXIT_PARSE = 5
_BLOCKED_EVENTS = (
    "socket.__new__",
    "socket.connect",
    "socket.bind",
    "socket.getaddrinfo",
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.fork",
    "os.forkpty",
    "os.posix_spawn",
    "os.spawn",
    "os.kill",
    "ctypes.dlopen",
)
_WRITE_EVENTS = (
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.symlink",
    "os.link",
    "os.truncate",
    "shutil.rmtree",
)


class SandboxViolation(Exception):
    """Something the sandbox forbids was attempted."""


def _guard(scratch: Path) -> None:
    root = str(scratch.resolve())

    def inside(path: object) -> bool:
        try:
            return os.path.realpath(os.fsdecode(path)).startswith(root + os.sep)  # type: ignore[arg-type]  # audit args are untyped
        except (TypeError, ValueError):
            return False

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event.startswith(_BLOCKED_EVENTS):
            raise SandboxViolation(f"{event} is not allowed in the sandbox")
        writing = (
            event == "open"
            and len(args) >= 2
            and isinstance(args[1], str)
            and any(m in args[1] for m in "wax+")
        )
        if writing and not inside(args[0]):
            raise SandboxViolation(f"write outside the scratch directory: {args[0]!r}")
        if event in _WRITE_EVENTS and args and not inside(args[0]):
            raise SandboxViolation(f"{event} outside the scratch directory")

    sys.addaudithook(hook)

    def no_socket(*_args: object, **_kwargs: object) -> socket.socket:
        raise SandboxViolation("network access is not allowed in the sandbox")

    socket.socket = no_socket  # type: ignore[assignment,misc]  # the point: no sockets at all
    socket.create_connection = no_socket


def _limit(name: int, value: int) -> None:
    resource.setrlimit(name, (value, value))


def apply_limits(limits: dict[str, Any]) -> None:
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL
    _limit(resource.RLIMIT_AS, int(limits["memory_mb"]) * 1024 * 1024)
    _limit(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * 1024 * 1024)
    _limit(resource.RLIMIT_NOFILE, int(limits["nofile"]))
    _limit(resource.RLIMIT_NPROC, 0)  # not enforced for root; the audit hook blocks it anyway
    _guard(Path(limits["scratch"]))


# --- probes: what hostile input can make a parser do, run under the same limits -------------
def probe(kind: str, limits: dict[str, Any]) -> dict[str, Any]:
    """Each probe succeeds only if the sandbox failed to stop it."""
    if kind == "cpu":
        budget = 2 * float(limits["cpu_s"]) + 1
        end = time.thread_time() + budget
        # In-process (sandbox off) a wall bound keeps the probe from stalling the service; in
        # the sandbox only the CPU limit or the parent's timeout may end it.
        wall_end = time.monotonic() + (budget if not limits.get("sandboxed") else float("inf"))
        while time.thread_time() < end and time.monotonic() < wall_end:
            pass
        return {"burned_cpu_s": round(time.thread_time(), 3)}
    if kind == "memory":
        size = 4 * int(limits["memory_mb"]) * 1024 * 1024
        block = bytes(size)  # calloc: address space only, so an unsandboxed run costs no RAM
        return {"allocated_mb": len(block) // (1024 * 1024)}
    if kind == "write":
        target = Path("/tmp") / f"preflight-sandbox-escape-{os.getpid()}"  # noqa: S108 - the probe's point
        target.write_text("escaped")
        target.unlink()
        return {"wrote": str(target)}
    if kind == "connect":
        try:
            socket.create_connection(("127.0.0.1", 9), timeout=1).close()
        except OSError as exc:  # refused by the peer: the attempt left the process
            return {"connect_attempted": True, "peer": type(exc).__name__}
        return {"connect_attempted": True, "peer": "connected"}
    raise ValueError(f"unknown probe {kind!r}")


def run_task(task: str, data: bytes, limits: dict[str, Any]) -> dict[str, Any]:
    if task.startswith("probe:"):
        return probe(task.removeprefix("probe:"), limits)
    return PARSERS[task](data)


def main() -> int:
    task, limits = sys.argv[1], json.loads(sys.argv[2])
    apply_limits(limits)
    data = sys.stdin.buffer.read(int(limits["max_input_bytes"]) + 1)
    try:
        result = {"ok": True, "result": run_task(task, data, limits)}
        code = 0
    except SandboxViolation as exc:
        result, code = {"ok": False, "reason": "blocked", "error": str(exc)}, EXIT_VIOLATION
    except MemoryError:
        result, code = {"ok": False, "reason": "memory_limit", "error": "MemoryError"}, EXIT_MEMORY
    except DefusedXmlException as exc:  # entity bombs, external entities, DTDs
        result = {"ok": False, "reason": "xml_forbidden", "error": f"{type(exc).__name__}"}
        code = EXIT_PARSE
    except Exception as exc:
        result = {"ok": False, "reason": "parse_error", "error": f"{type(exc).__name__}: {exc}"}
        code = EXIT_PARSE
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
