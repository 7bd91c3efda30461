"""The reference stack's log files as ground truth: JSON records, rotated files, raw text.

``stack.json`` names every log file of the stack (``logs``: app, access, one per worker, the
emulators' output, ...). A check that asks "was this logged, and how?" reads them here; a wait
for a record is a bounded poll, since a record is written when the request ends, not before the
response reaches the client.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from service.waiting import poll_until

Record = dict[str, Any]
REQUEST_ID_PREFIX = "preflight-"


def new_request_id(purpose: str) -> str:
    """A request id the check can find again (valid for the service's X-Request-ID alphabet)."""
    return f"{REQUEST_ID_PREFIX}{purpose}-{uuid.uuid4().hex[:16]}"


def with_rotated(path: Path) -> list[Path]:
    """The file and its rotated siblings (``app.log.1``, ``app.log.2``, ...) that exist."""
    siblings = sorted(path.parent.glob(path.name + ".*")) if path.parent.is_dir() else []
    return [p for p in [path, *siblings] if p.is_file()]


def log_files(stack: Any, names: Iterable[str] | None = None) -> dict[str, Path]:
    """Every existing log file of the stack (rotated ones included), by a readable name."""
    logs: dict[str, Path] = dict(stack.logs)
    wanted = logs if names is None else {n: logs[n] for n in names if n in logs}
    return {
        (name if p == path else f"{name}:{p.name}"): p
        for name, path in wanted.items()
        for p in with_rotated(Path(path))
    }


def worker_logs(stack: Any) -> list[str]:
    """Names of the workers' JSON logs (``worker-1``, ...; not their ``.out`` captures)."""
    return [n for n in stack.logs if n.startswith("worker-") and not n.endswith(".out")]


def read_records(path: Path) -> tuple[list[Record], int]:
    """JSON object records of a file and the count of lines that were not JSON objects."""
    records: list[Record] = []
    other = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            other += 1
            continue
        if isinstance(value, dict):
            records.append(value)
        else:
            other += 1
    return records, other


def records(stack: Any, names: Iterable[str]) -> list[Record]:
    """Every JSON record of the named logs, each tagged with ``_file`` (where it was found)."""
    out: list[Record] = []
    for name, path in log_files(stack, names).items():
        found, _ = read_records(path)
        out.extend({**r, "_file": name} for r in found)
    return out


def wait_records(
    stack: Any,
    names: Iterable[str],
    predicate: Callable[[Record], bool],
    *,
    timeout: float,
    count: int = 1,
    what: str = "log records",
) -> list[Record]:
    """Poll the named logs until at least ``count`` records satisfy ``predicate``."""
    names = list(names)

    def found() -> list[Record] | None:
        hits = [r for r in records(stack, names) if predicate(r)]
        return hits if len(hits) >= count else None

    hits: list[Record] = poll_until(
        found, timeout=timeout, interval=0.1, message=f"{what} in {names}"
    )
    return hits


def by_request_id(request_id: str) -> Callable[[Record], bool]:
    return lambda record: record.get("request_id") == request_id


def occurrences(stack: Any, needles: Iterable[str]) -> dict[str, list[str]]:
    """Which needles appear (verbatim) in which log file of the stack; binary-safe."""
    wanted = [n for n in needles if n]
    hits: dict[str, list[str]] = {}
    for name, path in log_files(stack).items():
        text = path.read_bytes().decode("utf-8", errors="replace")
        found = [n for n in wanted if n in text]
        if found:
            hits[name] = found
    return hits


def scanned_bytes(stack: Any) -> int:
    """Total size of the stack's log files (evidence of what a scan covered)."""
    return sum(p.stat().st_size for p in log_files(stack).values())
