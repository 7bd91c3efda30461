"""acceptance/support/commands.py: an operator's command runs bounded, without a shell unless
asked, with placeholders kept inside their argument, and shows nothing secret when it fails."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from acceptance.support.commands import CommandError, CommandTimeout, argv_of, run, shown
from acceptance.support.redaction import Redactor
from service.waiting import poll_until

pytestmark = pytest.mark.timeout(60)
REDACT = Redactor(["s3cr3t-token-value"], [r"(?i)(password=)\S+"])
PY = sys.executable


def _run(argv: list[str], timeout_s: float = 10.0, max_bytes: int = 1 << 20) -> bytes:
    return run(argv, timeout_s=timeout_s, max_output_bytes=max_bytes, redact=REDACT).stdout


def test_placeholders_stay_inside_their_argument() -> None:
    """A value with spaces and shell syntax is one argument; unknown braces (LogQL) stay."""
    argv = argv_of(
        "logcli query '{app=\"x\"}' --from={since}", {"since": "a b; rm -rf /"}, shell=False
    )
    assert argv == ["logcli", "query", '{app="x"}', "--from=a b; rm -rf /"]


def test_shell_form_quotes_values() -> None:
    """With shell = true the values are shell-quoted, so they are data, not syntax."""
    values = {"since": "$(touch x)"}
    argv = argv_of("echo {since} | cat", values, shell=True)  # noqa: S604  # what is tested
    assert argv == ["/bin/sh", "-c", "echo '$(touch x)' | cat"]
    assert _run(argv) == b"$(touch x)\n"


def test_output_returned() -> None:
    assert _run([PY, "-c", "print('{\"a\": 1}')"]) == b'{"a": 1}\n'


def test_failure_has_status_and_redacted_stderr() -> None:
    """Exit status and the first stderr lines; the token on the line and in stderr is masked."""
    script = (
        "import sys; print('denied s3cr3t-token-value password=hunter2', file=sys.stderr); "
        "sys.exit(3)"
    )
    with pytest.raises(CommandError) as caught:
        _run([PY, "-c", script, "--token=s3cr3t-token-value"])
    message = str(caught.value)
    assert "exited with status 3" in message and "denied" in message
    assert "s3cr3t-token-value" not in message and "hunter2" not in message
    assert Path(PY).name in message


def test_missing_program_is_an_error_not_a_crash() -> None:
    with pytest.raises(CommandError, match="could not start"):
        _run(["/nonexistent/preflight-log-tool"])


def test_hang_is_killed_with_its_process_group(tmp_path: Path) -> None:
    """A command that hangs (and its child) is killed at the timeout; the error says so."""
    pidfile = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time; "
        f"c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pidfile)!r}, 'w').write(str(c.pid)); time.sleep(60)"
    )
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match="did not finish within 1 s"):
        _run([PY, "-c", script], timeout_s=1.0)
    assert time.monotonic() - started < 10
    child = int(pidfile.read_text())
    poll_until(lambda: not _alive(child), timeout=5, interval=0.05, message="child killed")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rpartition(")")[2].split()[0] != "Z"


def test_too_much_output_is_an_error() -> None:
    with pytest.raises(CommandError, match="more than 10 bytes"):
        _run([PY, "-c", "print('x' * 100)"], max_bytes=10)


def test_shown_form_names_the_program_and_masks_secrets() -> None:
    text = shown(["/usr/bin/logcli", "--password=hunter2", "s3cr3t-token-value"], REDACT)
    assert text.startswith("logcli (")
    assert "hunter2" not in text and "s3cr3t-token-value" not in text
