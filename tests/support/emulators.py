"""The one way the tests boot an emulator: a real subprocess on a free loopback port.

`running_emulator` starts `python -m service.emulators.<kind>`, waits until it answers, and hands
back an `Emulator` (its URL, request-log file and an admin client) that it closes and stops on
exit. Module-scoped fixtures wrap it once per module (start-up costs a second); function-scoped
ones reset it (`Emulator.reset`) so no configuration or log leaks from one test into the next.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from service.waiting import poll_until

READY_TIMEOUT_S = 20.0
# The model the vLLM emulator of the load tests serves.
LOAD_MODEL = "test/model"
# The token the GitHub emulator of these tests accepts (a test value, not a credential).
GITHUB_TOKEN = "ghp_emulatortesttoken0000000000000000"  # noqa: S105


@dataclass
class Emulator:
    """A running emulator: its base URL, request-log file and an admin client."""

    url: str
    requests_log: Path
    admin: httpx.Client

    def configure(self, **patch: Any) -> dict[str, Any]:
        response = self.admin.post("/_emulator/config", json=patch)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        params = {"path": path} if path else {}
        response = self.admin.get("/_emulator/requests", params=params)
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()["requests"]
        return records

    def reset(self) -> Emulator:
        """Back to the configuration it started with, with an empty request log."""
        self.admin.post("/_emulator/reset").raise_for_status()
        return self


def start_emulator(
    kind: str, workdir: Path, *args: str, env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `python -m service.emulators.<kind>` on port 0 (``env`` added to this process's
    environment: e.g. OLLAMA_NUM_PARALLEL, which the emulator reads as Ollama does); wait until
    it answers."""
    port_file = workdir / f"{kind}.port"
    argv = [
        sys.executable,
        "-m",
        f"service.emulators.{kind}",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        *args,
    ]
    stderr = workdir / f"{kind}.stderr"
    with stderr.open("wb") as log:  # the child holds its own descriptor
        child_env = {**os.environ, **(env or {})}
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=child_env)

    def answers() -> str | None:
        if not port_file.exists():
            return None
        url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        httpx.get(f"{url}/_emulator/state", timeout=1.0)
        return url

    def exited() -> str | None:
        return None if proc.poll() is None else f"exited: {stderr.read_text()}"

    try:
        url = poll_until(
            answers,
            timeout=READY_TIMEOUT_S,
            interval=0.05,
            message=f"{kind} emulator to answer",
            ignore=(httpx.TransportError,),
            abort=exited,
        )
    except BaseException:
        stop(proc)
        raise
    return proc, url


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def running_emulator(
    kind: str, workdir: Path, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[Emulator]:
    """An emulator that records its requests in ``workdir/requests.jsonl``, stopped on exit."""
    log = workdir / "requests.jsonl"
    proc, url = start_emulator(kind, workdir, "--requests-log", str(log), *args, env=env)
    admin = httpx.Client(base_url=url, timeout=10.0)
    try:
        yield Emulator(url, log, admin)
    finally:
        admin.close()
        stop(proc)
