"""The ``command`` log source: whatever the operator's log store prints for a time window.

``[logs] command`` is run once per read with the window in its placeholders (``{since}``,
``{until}`` as ISO-8601 UTC, ``{since_epoch}``, ``{until_epoch}`` in seconds) and must print the
platform's JSON-lines records. Lines that are not JSON objects (a ``kubectl`` warning, a
``logcli`` header) are counted, not fatal; output with no JSON record at all is an error, since
it cannot be the platform's log. A command that hung is not run again in the same session: each
check would otherwise wait out the same timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from acceptance.settings.logs import LogSettings
from acceptance.support.commands import CommandError, CommandTimeout, argv_of, head, run, shown
from acceptance.support.logfiles import read_records
from acceptance.support.logs.source import LogBatch, LogSourceError, Record, select

COMMAND_TEXT = "command"


def window_values(since: datetime, until: datetime) -> dict[str, str]:
    """The placeholders' values for one window, in whole seconds: ``since`` rounded down and
    ``until`` up, so the window asked for holds the whole window wanted."""
    end = until if until.microsecond == 0 else until + timedelta(seconds=1)
    return {
        "since": _iso(since),
        "until": _iso(end),
        "since_epoch": str(int(since.timestamp())),
        "until_epoch": str(int(end.timestamp())),
    }


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CommandLogSource:
    """Runs ``[logs] command`` for each read."""

    kind = "command"

    def __init__(self, settings: LogSettings, redact: Callable[[str], str]) -> None:
        assert settings.command is not None
        self.settings = settings
        self.redact = redact
        self.poll_interval_s = settings.poll_interval_s
        self.hung: str | None = None  # the reason, once the command outlived its timeout

    def describe(self) -> str:
        template = self.settings.command or ""
        return "command " + shown(argv_of(template, {}, shell=self.settings.shell), self.redact)

    def read(
        self,
        since: datetime,
        until: datetime | None = None,
        streams: Collection[str] | None = None,
    ) -> LogBatch:
        if self.hung is not None:
            raise LogSourceError(self.hung)
        s = self.settings
        values = window_values(since, until or datetime.now(UTC))
        try:
            argv = argv_of(s.command or "", values, shell=s.shell)
            done = run(
                argv,
                timeout_s=s.timeout_s,
                max_output_bytes=s.max_output_bytes,
                redact=self.redact,
                stderr_lines=s.stderr_lines,
            )
        except CommandError as exc:
            reason = f"log command: {exc}"
            if isinstance(exc, CommandTimeout):
                self.hung = reason + " (not run again in this session)"
            raise LogSourceError(reason) from exc
        text = done.stdout.decode("utf-8", errors="replace")
        found, other = read_records(text)
        if other and not found:
            raise LogSourceError(
                f"log command {shown(argv, self.redact)} printed no JSON records "
                f"({other} other lines; first: {head(done.stdout, 2, self.redact)}); "
                f"stderr: {head(done.stderr, s.stderr_lines, self.redact)}"
            )
        records: list[Record] = [{**r, "_source": COMMAND_TEXT} for r in found]
        return LogBatch(select(records, since, until, streams), {COMMAND_TEXT: text}, other)
