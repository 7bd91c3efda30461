"""A JSONL request trace to replay: one request per line.

    {"offset_ms": 0, "input_tokens": 512, "output_tokens": 128}
    {"offset_ms": 250.5, "input_tokens": 96, "output_tokens": 300, "session": "u7", "prefix": 0}

``offset_ms``: when the request arrives, from the start of the run; ``input_tokens``: the
request's own new message, template tokens included (a session's later turns also carry the
history, which the server counts on top); ``output_tokens``: completion tokens asked for;
``session`` (optional): lines with the same value are the turns of one conversation, in offset
order; ``prefix`` (optional): index of a ``[workload.prefix]`` group whose shared system prompt
the request starts with. Unknown fields are refused, so a misspelt field is not silently a
default. The format is ours (AIPerf's and Mooncake's traces count the history into the input
length and name prefixes by block hashes); a converter is a few lines of Python.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class TraceError(ValueError):
    """A trace that cannot be replayed; the message names the file, line and field."""


class TraceRecord(BaseModel):
    """One line of a trace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offset_ms: float = Field(ge=0, description="arrival time from the start of the run, ms")
    input_tokens: int = Field(ge=1, description="tokens of the request's own new message")
    output_tokens: int = Field(ge=1, description="completion tokens asked for (max_tokens)")
    session: str | None = Field(default=None, description="conversation the line belongs to")
    prefix: int | None = Field(default=None, ge=0, description="shared-prefix group index")


def read_trace(path: Path) -> list[tuple[int, TraceRecord]]:
    """Every record of the file with its line number, sorted by offset (equal offsets keep
    file order)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: cannot read the trace: {exc}") from exc
    records = [
        (number, parse_line(path, number, line))
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not records:
        raise TraceError(f"{path}: the trace has no records")
    return sorted(records, key=lambda r: (r[1].offset_ms, r[0]))


def parse_line(path: Path, number: int, line: str) -> TraceRecord:
    """One line, or a TraceError naming the line and the first bad field."""
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise TraceError(f"{path}:{number}: not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise TraceError(f"{path}:{number}: a record must be a JSON object")
    try:
        return TraceRecord.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"field {'.'.join(str(p) for p in error['loc']) or '(record)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise TraceError(f"{path}:{number}: {problems}") from exc
