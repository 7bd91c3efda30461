"""The log-source interface: what every log-based check reads, whoever keeps the logs.

A source returns a ``LogBatch`` for a time window: the platform's JSON records (each tagged with
``_source``, the file or command it came from) and the raw text it read, for verbatim scans of
secrets and personal data that must also cover lines that are not JSON. Records are told apart
by their own fields, the platform's log contract (docs/DESIGN.md, "JSON logs"), so a command
that prints every process's records mixed together is read the same way as the stack's separate
files: ``stream_of`` names the stream a record belongs to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

Record = dict[str, Any]
ACCESS_LOGGER = "platform.access"
STREAMS = ("access", "app", "worker", "poller")


class LogSourceError(Exception):
    """The source could not be read (the command failed, hung, printed no JSON); redacted."""


def stream_of(record: Record) -> str:
    """``access`` (access records), ``worker``/``poller`` (by process), else ``app``."""
    if record.get("logger") == ACCESS_LOGGER:
        return "access"
    process = str(record.get("process") or "")
    for stream in ("worker", "poller"):
        if process.startswith(stream):
            return stream
    return "app"


def parse_ts(value: object) -> datetime | None:
    """A record's ``ts`` as an aware datetime; None when absent or unreadable."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def in_window(record: Record, since: datetime, until: datetime | None) -> bool:
    """Whether a record falls in the window; a record without a readable ``ts`` is kept."""
    when = parse_ts(record.get("ts"))
    return when is None or (when >= since and (until is None or when <= until))


@dataclass(frozen=True)
class LogBatch:
    """What one read of a source returned."""

    records: list[Record] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # source name -> everything read there
    non_json_lines: int = 0

    def bytes_scanned(self) -> int:
        return sum(len(text.encode()) for text in self.texts.values())

    def occurrences(self, needles: Iterable[str]) -> dict[str, list[str]]:
        """Which needles appear verbatim in which source's text."""
        wanted = [n for n in needles if n]
        hits = {name: [n for n in wanted if n in text] for name, text in self.texts.items()}
        return {name: found for name, found in hits.items() if found}


def select(
    records: Iterable[Record],
    since: datetime,
    until: datetime | None,
    streams: Collection[str] | None,
) -> list[Record]:
    """The records of the window (and of the streams, when given)."""
    return [
        r
        for r in records
        if in_window(r, since, until) and (streams is None or stream_of(r) in streams)
    ]


class LogSource(Protocol):
    """Where the platform's records are read; ``read`` raises LogSourceError when it cannot."""

    kind: str  # "files" or "command"
    poll_interval_s: float  # how often a wait for a record reads again

    def describe(self) -> str:
        """What the evidence says about the source (redacted)."""
        ...

    def read(
        self,
        since: datetime,
        until: datetime | None = None,
        streams: Collection[str] | None = None,
    ) -> LogBatch:
        """Records of the window, of the given streams (None: all), and the text read."""
        ...
