"""Raw per-request samples as JSON lines: one file per Locust process, merged afterwards.

They are the evidence behind every figure of a load run (Locust's own stats are rounded), and
one file per process keeps distributed runs lock-free: workers never share a file, and
``python -m load.report`` merges them.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO


def process_file(prefix: str) -> Path:
    """``<prefix>-<host>-<pid>.jsonl``: unique per process, also across machines."""
    return Path(f"{prefix}-{socket.gethostname()}-{os.getpid()}.jsonl")


class SampleWriter:
    """Appends records line by line (line-buffered: a killed worker loses at most one line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:  # opened on first sample, so a master leaves no empty file
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8", buffering=1)
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_samples(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """All records of the files, ordered by send time; a torn last line is skipped."""
    records: list[dict[str, Any]] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a worker killed mid-write leaves a partial line
    records.sort(key=lambda r: float(r.get("wall_start", 0.0)))
    return records
