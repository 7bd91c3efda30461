"""python -m service.stack.log_window: a window of the stack's JSON records, as a log CLI gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)


def _line(ts: str, message: str) -> str:
    return json.dumps({"ts": ts, "level": "INFO", "message": message})


def test_window_and_files(tmp_path: Path) -> None:
    """Records of every *.log and rotated sibling inside [since, until]; other lines dropped."""
    (tmp_path / "app.log").write_text(
        _line("2030-01-01T00:00:05.000+00:00", "in")
        + "\nnot json\n"
        + _line("2030-01-01T00:10:00.000+00:00", "late")
        + "\n"
    )
    (tmp_path / "app.log.1").write_text(_line("2030-01-01T00:00:01.000+00:00", "rotated") + "\n")
    (tmp_path / "worker-1.log").write_text(_line("2029-12-31T23:00:00.000+00:00", "early") + "\n")
    (tmp_path / "api.out").write_text(_line("2030-01-01T00:00:02.000+00:00", "captured") + "\n")
    argv = [sys.executable, "-m", "service.stack.log_window", "--dir", str(tmp_path)]
    argv += ["--since", "2030-01-01T00:00:00Z", "--until", "1893456060"]  # 00:01:00 as epoch
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout
    assert sorted(json.loads(line)["message"] for line in out.splitlines()) == ["in", "rotated"]


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "service.stack.log_window", "--dir", str(tmp_path / "x")]
    done = subprocess.run([*argv, "--since", "0"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "not a directory" in done.stderr
