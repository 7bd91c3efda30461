"""Print the reference stack's JSON log records of a time window, as a log store's CLI would.

``python -m service.stack.log_window --dir <stack dir>/logs --since 2025-01-01T00:00:00Z`` prints
every JSON record of the platform's log files (``*.log`` and their rotated siblings) whose
``ts`` lies in ``[since, until]``, one per line. It stands in for ``kubectl logs --since-time``
or ``logcli query`` when the suite reads the reference stack through ``[logs] command``, so the
command path of the log checks is exercised against a stack whose files are also known.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path


def _when(text: str) -> datetime:
    """ISO-8601 (a trailing Z allowed) or epoch seconds; naive times are UTC."""
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def log_files(directory: Path) -> list[Path]:
    """The platform's JSON logs in ``directory``: ``*.log`` and ``*.log.N``, not ``.out``."""
    return sorted(p for p in directory.glob("*.log*") if p.is_file() and ".log" in p.suffixes)


def records(directory: Path, since: datetime, until: datetime | None) -> Iterator[str]:
    """Lines holding a JSON record whose ``ts`` is in the window."""
    for path in log_files(directory):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
                ts = _when(str(record["ts"]))
            except (ValueError, TypeError, KeyError):
                continue
            if ts >= since and (until is None or ts <= until):
                yield line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.stack.log_window")
    parser.add_argument("--dir", required=True, type=Path, help="the stack's logs directory")
    parser.add_argument("--since", required=True, type=_when, help="ISO-8601 or epoch seconds")
    parser.add_argument("--until", type=_when, default=None, help="default: now")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        parser.error(f"{args.dir} is not a directory")
    out = sys.stdout
    for line in records(args.dir, args.since, args.until):
        out.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
