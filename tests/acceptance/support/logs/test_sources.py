"""The two log sources (acceptance/support/logs/) read the same records the same way: the
stack's files, and a command printing them for a window (``service.stack.log_window``)."""

from __future__ import annotations

import json
import shlex
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from acceptance.settings.logs import LogSettings
from acceptance.support.logs.command import CommandLogSource
from acceptance.support.logs.files import FileLogSource
from acceptance.support.logs.source import LogSourceError, stream_of
from acceptance.support.redaction import Redactor

pytestmark = pytest.mark.timeout(60)
NOW = datetime.now(UTC)
OLD = NOW - timedelta(hours=2)
REDACT = Redactor(["s3cr3t-token-value"], [])


def _record(process: str, logger: str, request_id: str, when: datetime, **more: str) -> str:
    fields = {"ts": when.isoformat(timespec="milliseconds"), "level": "INFO"}
    fields |= {"logger": logger, "message": "m", "request_id": request_id, "process": process}
    return json.dumps(fields | more)


@pytest.fixture
def stack(tmp_path: Path) -> SimpleNamespace:
    """A stack's logs directory: app, access, a rotated worker log, and a non-JSON output."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text(
        _record("app", "service.app", "r-app", NOW)
        + "\n"
        + _record("app", "service.app", "r-old", OLD)
        + "\n"
    )
    (logs / "access.log").write_text(_record("app", "platform.access", "r-app", NOW) + "\n")
    (logs / "worker-1.log").write_text(_record("worker-1", "service.jobs", "r-job", NOW) + "\n")
    (logs / "worker-1.log.1").write_text(_record("worker-1", "service.jobs", "r-rot", NOW) + "\n")
    (logs / "api.out").write_text("uvicorn started canary-in-plain-text\n")
    names = {
        "app": "app.log",
        "access": "access.log",
        "worker-1": "worker-1.log",
        "api.out": "api.out",
    }
    return SimpleNamespace(dir=tmp_path, logs={n: logs / f for n, f in names.items()})


def _command_source(stack: SimpleNamespace, **settings: object) -> CommandLogSource:
    command = (
        f"{shlex.quote(sys.executable)} -m service.stack.log_window "
        f"--dir {shlex.quote(str(stack.dir / 'logs'))} --since {{since}} --until {{until}}"
    )
    return CommandLogSource(LogSettings.model_validate({"command": command, **settings}), REDACT)


def _ids(records: list[dict[str, object]]) -> set[object]:
    return {r["request_id"] for r in records}


def test_streams_by_record_fields() -> None:
    assert stream_of({"logger": "platform.access", "process": "app"}) == "access"
    assert stream_of({"logger": "x", "process": "worker-3"}) == "worker"
    assert stream_of({"logger": "x", "process": "poller-1"}) == "poller"
    assert stream_of({"logger": "x", "process": "app"}) == "app"


def test_files_and_command_agree_per_stream(stack: SimpleNamespace) -> None:
    """Per stream and window both sources return the same records (rotated files included)."""
    since = NOW - timedelta(minutes=5)
    files, command = FileLogSource(stack), _command_source(stack)
    for streams in (["app"], ["access"], ["worker"], ["app", "worker"]):
        assert _ids(files.read(since, None, streams).records) == _ids(
            command.read(since, None, streams).records
        ), streams
    assert _ids(files.read(since, None, ["worker"]).records) == {"r-job", "r-rot"}
    assert _ids(files.read(OLD - timedelta(minutes=1), None, ["app"]).records) == {"r-app", "r-old"}


def test_text_scan_covers_what_each_source_read(stack: SimpleNamespace) -> None:
    """The files source scans non-JSON output too; the command scans what it printed."""
    since = NOW - timedelta(minutes=5)
    files = FileLogSource(stack).read(since)
    assert files.occurrences(["canary-in-plain-text"]) == {"api.out": ["canary-in-plain-text"]}
    assert _command_source(stack).read(since).occurrences(["r-job"]) == {"command": ["r-job"]}


def test_failing_command_says_status_and_stderr(stack: SimpleNamespace) -> None:
    script = "import sys; sys.stderr.write('no such label s3cr3t-token-value'); sys.exit(2)"
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    source = CommandLogSource(LogSettings(command=command), REDACT)
    with pytest.raises(LogSourceError) as caught:
        source.read(NOW)
    assert "exited with status 2" in str(caught.value) and "no such label" in str(caught.value)
    assert "s3cr3t-token-value" not in str(caught.value)


def test_non_json_output_is_an_error(stack: SimpleNamespace) -> None:
    command = f"{shlex.quote(sys.executable)} -c \"print('plain text log line')\""
    source = CommandLogSource(LogSettings(command=command), REDACT)
    with pytest.raises(LogSourceError, match="printed no JSON records"):
        source.read(NOW)


def test_empty_output_is_no_records_not_an_error() -> None:
    """A window without records is an answer (the checks judge it), not a broken source."""
    command = f"{shlex.quote(sys.executable)} -c pass"
    batch = CommandLogSource(LogSettings(command=command), REDACT).read(NOW)
    assert batch.records == [] and batch.non_json_lines == 0


def test_hung_command_not_run_again(stack: SimpleNamespace) -> None:
    """After one timeout the source fails at once for the rest of the session."""
    command = f"{shlex.quote(sys.executable)} -c 'import time; time.sleep(30)'"
    source = CommandLogSource(LogSettings(command=command, timeout_s=0.5), REDACT)
    with pytest.raises(LogSourceError, match=r"did not finish within 0\.5 s"):
        source.read(NOW)
    with pytest.raises(LogSourceError, match="not run again"):
        source.read(NOW)
