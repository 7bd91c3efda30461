"""The platform's logs as the checks read them, from the stack's files or the operator's tools.

A check asks ``log_source`` (the ``log_source`` fixture) for the source the run was given:
``[logs] command`` (any log store), else the reference stack's files, else the check is not
verified and its reason names the setting. It then waits for the records its own requests left
(``wait_records``) or scans what the source holds (``read_logs``). A source that cannot be read
(the command failed, hung, printed no JSON) ends the check not verified with the command's exit
status and stderr, redacted; it never fails a check.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.logs.command import CommandLogSource
from acceptance.support.logs.files import FileLogSource
from acceptance.support.logs.source import LogBatch, LogSource, LogSourceError, Record
from acceptance.support.redaction import Redactor
from service.waiting import poll_until

__all__ = [
    "LogBatch",
    "LogSource",
    "Record",
    "by_request_id",
    "choose_source",
    "new_request_id",
    "read_logs",
    "since_now",
    "wait_records",
]

REQUEST_ID_PREFIX = "preflight-"
NO_COMMAND = "set [logs] command (PREFLIGHT_LOGS__COMMAND)"


def choose_source(target: Target, config: SuiteConfig, redact: Redactor) -> LogSource | str:
    """The run's log source, or why there is none (naming the setting that would give one)."""
    logs = config.logs
    if logs.command and logs.source in ("auto", "command"):
        return CommandLogSource(logs, redact)
    if logs.source == "command":
        return f"no log access: [logs] source is 'command' but no command is set; {NO_COMMAND}"
    if target.stack is not None:
        return FileLogSource(target.stack)
    if logs.source == "files":
        return f"no log access: [logs] source 'files' needs a reference stack; {NO_COMMAND}"
    return f"no log access: {NO_COMMAND}"


def new_request_id(purpose: str) -> str:
    """A request id the check can find again (valid for the service's X-Request-ID alphabet)."""
    return f"{REQUEST_ID_PREFIX}{purpose}-{uuid.uuid4().hex[:16]}"


def by_request_id(request_id: str) -> Callable[[Record], bool]:
    return lambda record: record.get("request_id") == request_id


def since_now(config: SuiteConfig) -> datetime:
    """The start of a window that holds everything a check is about to cause (clock skew)."""
    return datetime.now(UTC) - timedelta(seconds=config.logs.clock_skew_s)


def read_logs(
    source: LogSource,
    since: datetime,
    until: datetime | None = None,
    streams: Collection[str] | None = None,
) -> LogBatch:
    """One read of the source; a source that cannot be read ends the check not verified."""
    try:
        return source.read(since, until, streams)
    except LogSourceError as exc:
        not_verified(str(exc))


def wait_records(
    source: LogSource,
    predicate: Callable[[Record], bool],
    *,
    since: datetime,
    timeout: float,
    streams: Collection[str] | None = None,
    count: int = 1,
    what: str = "log records",
) -> list[Record]:
    """Read until at least ``count`` records satisfy ``predicate``; PollTimeout (a failure)
    when they never come: the target answered, and its logs do not hold them."""

    def found() -> list[Record] | None:
        hits = [r for r in read_logs(source, since, None, streams).records if predicate(r)]
        return hits if len(hits) >= count else None

    where = f"{source.kind} ({', '.join(streams)})" if streams else source.kind
    hits: list[Record] = poll_until(
        found, timeout=timeout, interval=source.poll_interval_s, message=f"{what} in {where}"
    )
    return hits
