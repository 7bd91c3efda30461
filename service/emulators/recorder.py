"""The request log: what arrived on the wire and what was sent back, one record per request.

It is the suite's ground truth (e.g. "the platform forwarded X-Request-ID"), so it is kept in
memory for `GET /_emulator/requests` and appended as JSON lines to a file the suite can read
after the fact. Credentials never reach it.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from pathlib import Path
from typing import Any, TextIO

# Headers that carry credentials; kept as present-but-redacted so "a key was sent" stays visible.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})
REDACTED = "[redacted]"
# Enough for a long load test; older records stay in the file.
MAX_RECORDS = 50_000


def redact_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-cased header names to values; repeated headers joined as HTTP allows."""
    headers: dict[str, str] = {}
    for name_b, value_b in raw:
        name = name_b.decode("latin-1").lower()
        value = REDACTED if name in _SECRET_HEADERS else value_b.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class Recorder:
    """Bounded in-memory log plus an optional append-only JSON-lines file."""

    def __init__(self, path: str | None) -> None:
        self._records: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDS)
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives as long as the server

    def add(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), sort_keys=True)
        with self._lock:
            self._records.append(record)
            if self._file is not None:
                self._file.write(line + "\n")

    def query(
        self, *, since: float | None = None, path: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            records = list(self._records)
        if since is not None:
            records = [r for r in records if r["time"] >= since]
        if path is not None:
            records = [r for r in records if r["path"] == path]
        return records[-limit:] if limit else records

    def clear(self) -> None:
        """Forget the in-memory records; the file is an append-only history and stays."""
        with self._lock:
            self._records.clear()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
