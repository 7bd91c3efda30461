"""The ``files`` log source: the reference stack's JSON-lines files (``stack.json`` ``logs``).

Each stream lives in its own files (``access.log``, ``app.log``, ``worker-N.log``, ...; rotated
siblings included). A read of given streams opens only their files, which keeps the 0.1 s
re-reads of a waiting check cheap; a read of all streams also takes the files that are not the
platform's JSON (Valkey, emulators, captured output), so a verbatim scan covers every byte the
stack wrote.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from acceptance.support.logfiles import log_files, read_records
from acceptance.support.logs.source import LogBatch, Record, select

# Files are local: a waiting check can look again almost at once.
FILE_POLL_INTERVAL_S = 0.1


def stream_of_file(name: str) -> str | None:
    """The stream a stack log holds; None for output that is not the platform's JSON records."""
    if name.endswith(".out"):
        return None
    if name in ("access", "app"):
        return name
    return next((s for s in ("worker", "poller") if name.startswith(f"{s}-")), None)


class FileLogSource:
    """Reads the files a reference stack names."""

    kind = "files"
    poll_interval_s = FILE_POLL_INTERVAL_S

    def __init__(self, stack: Any) -> None:
        self.stack = stack

    def describe(self) -> str:
        return f"files of {Path(self.stack.dir) / 'logs'}"

    def read(
        self,
        since: datetime,
        until: datetime | None = None,
        streams: Collection[str] | None = None,
    ) -> LogBatch:
        names = None if streams is None else self._names(streams)
        records: list[Record] = []
        texts: dict[str, str] = {}
        other = 0
        for label, path in log_files(self.stack, names).items():
            text = path.read_bytes().decode("utf-8", errors="replace")
            texts[label] = text
            found, not_json = read_records(text)
            records.extend({**r, "_source": label} for r in found)
            if stream_of_file(label.partition(":")[0]) is not None:
                other += not_json
        return LogBatch(select(records, since, until, streams), texts, other)

    def _names(self, streams: Collection[str]) -> list[str]:
        return [n for n in self.stack.logs if stream_of_file(n) in streams]
