"""Emulators as real subprocesses on free loopback ports, reset between tests.

One process per module (start-up costs a second); the function-scoped fixtures reset it so no
configuration or log leaks from one test into the next.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

READY_TIMEOUT_S = 20.0


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


def start_emulator(kind: str, workdir: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start `python -m service.emulators.<kind>` on port 0; wait until it answers."""
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
    log = (workdir / f"{kind}.stderr").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    log.close()  # the child holds its own descriptor
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{kind} emulator exited: {(workdir / f'{kind}.stderr').read_text()}"
            )
        if port_file.exists():
            url = f"http://127.0.0.1:{port_file.read_text().strip()}"
            try:
                httpx.get(f"{url}/_emulator/state", timeout=1.0)
                return proc, url
            except httpx.TransportError:
                pass
        time.sleep(0.05)  # polling a child's start-up: nothing to wait on but time
    stop(proc)
    raise RuntimeError(f"{kind} emulator not ready within {READY_TIMEOUT_S}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def _vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    workdir = tmp_path_factory.mktemp("vllm")
    log = workdir / "requests.jsonl"
    proc, url = start_emulator(
        "vllm",
        workdir,
        "--model",
        "test/model",
        "--requests-log",
        str(log),
        "--ttft-ms",
        "150",
        "--itl-ms",
        "5",
        "--output-tokens",
        "20",
    )
    admin = httpx.Client(base_url=url, timeout=10.0)
    try:
        yield Emulator(url, log, admin)
    finally:
        admin.close()
        stop(proc)


@pytest.fixture(scope="module")
def _ollama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    workdir = tmp_path_factory.mktemp("ollama")
    log = workdir / "requests.jsonl"
    proc, url = start_emulator(
        "ollama",
        workdir,
        "--model",
        "llama3.2",
        "--model",
        "qwen2.5:0.5b",
        "--requests-log",
        str(log),
        "--ttft-ms",
        "50",
        "--itl-ms",
        "5",
        "--output-tokens",
        "12",
    )
    admin = httpx.Client(base_url=url, timeout=10.0)
    try:
        yield Emulator(url, log, admin)
    finally:
        admin.close()
        stop(proc)


@pytest.fixture
def vllm(_vllm_server: Emulator) -> Iterator[Emulator]:
    _vllm_server.admin.post("/_emulator/reset").raise_for_status()
    yield _vllm_server


@pytest.fixture
def ollama_server(_ollama_server: Emulator) -> Iterator[Emulator]:
    _ollama_server.admin.post("/_emulator/reset").raise_for_status()
    yield _ollama_server


# The token the GitHub emulator of these tests accepts (a test value, not a credential).
GITHUB_TOKEN = "ghp_emulatortesttoken0000000000000000"  # noqa: S105


@pytest.fixture(scope="module")
def _github_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    workdir = tmp_path_factory.mktemp("github")
    log = workdir / "requests.jsonl"
    proc, url = start_emulator(
        "github", workdir, "--requests-log", str(log), "--token", GITHUB_TOKEN,
        "--ratelimit-anonymous", "1000",
    )  # fmt: skip
    admin = httpx.Client(base_url=url, timeout=10.0)
    try:
        yield Emulator(url, log, admin)
    finally:
        admin.close()
        stop(proc)


@pytest.fixture
def github(_github_server: Emulator) -> Iterator[Emulator]:
    """The GitHub emulator with its fixture issues, no fault and fresh rate-limit windows."""
    _github_server.admin.post("/_emulator/reset").raise_for_status()
    yield _github_server
