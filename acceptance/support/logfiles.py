"""The reference stack's log files: where they are (rotated ones included) and their records.

``stack.json`` names every log file of the stack (``logs``: app, access, one per worker, the
emulators' output, ...). The ``files`` log source (``acceptance/support/logs/files.py``) reads
them; a check reads logs through a log source, never these files directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Record = dict[str, Any]


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


def read_records(text: str) -> tuple[list[Record], int]:
    """JSON object records of some JSON-lines text and the count of lines that were not."""
    records: list[Record] = []
    other = 0
    for line in text.splitlines():
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
