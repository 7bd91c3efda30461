"""python -m service.stack.control: the worker hooks stop and resume what stack.json names."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.stack.control import STILL_RUNNING, main
from service.stack.info import StackInfo, StackKeys
from service.waiting import poll_until

pytestmark = pytest.mark.timeout(60)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]


@pytest.fixture
def worker() -> Iterator[int]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def _stack(tmp_path: Path, pids: dict[str, int]) -> Path:
    keys = StackKeys(api="a", api_2="b", admin="c", revoked="d")
    info = StackInfo(
        url="https://127.0.0.1:1",
        ca_file=tmp_path / "ca.pem",
        environment="local",
        dir=tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        keys=keys,
        key_ids=keys,
        pids=pids,
    )
    return info.save()


def test_workers_down_and_up(tmp_path: Path, worker: int) -> None:
    """SIGSTOP then SIGCONT to the workers only (the API is left alone)."""
    stack = _stack(tmp_path, {"api": 1, "worker-1": worker})
    assert main(["--stack", str(stack), "workers", "down"]) == 0
    poll_until(lambda: _state(worker) == "T", timeout=5, interval=0.05, message="stopped")
    assert main(["--stack", str(stack), "workers", "up"]) == 0
    poll_until(lambda: _state(worker) != "T", timeout=5, interval=0.05, message="resumed")


def test_no_workers_is_an_error(tmp_path: Path) -> None:
    assert main(["--stack", str(_stack(tmp_path, {"api": 1})), "workers", "down"]) == 1


def test_start_without_secrets_reports_the_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The API started with the stack's settings but no keys exits non-zero naming them."""
    status = main(
        ["--stack", str(_stack(tmp_path, {})), "start-without-secrets", "--timeout", "30"]
    )
    assert status not in (0, STILL_RUNNING)
    assert "PLATFORM_API_KEYS" in capsys.readouterr().out
