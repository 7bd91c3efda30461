"""Fixtures of the gateway tests: real emulator processes and the real app over loopback HTTP.

Test modules import them under their `*_fixture` function names (the fixture names are shorter).

The emulators run once per module (start-up costs a second) and are reset before every test;
each test gets its own app whose providers point at them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import KEYS, LiveServer
from tests.emulators.conftest import Emulator, start_emulator, stop

MODEL = "chat-model"
VLLM_MODEL = "org/Chat-Model-8B"
OLLAMA_MODEL = "chatmodel:8b"
API_KEY = KEYS["ci"]
FAST = {"cooldown_s": 0.5, "probe_interval_s": 0.1, "probe_timeout_s": 0.5, "retries": 1}


def _boot(kind: str, workdir: Path, model: str) -> tuple[Any, Emulator]:
    log = workdir / "requests.jsonl"
    proc, url = start_emulator(
        kind, workdir, "--model", model, "--requests-log", str(log),
        "--ttft-ms", "20", "--itl-ms", "2", "--output-tokens", "12",
    )  # fmt: skip
    return proc, Emulator(url, log, httpx.Client(base_url=url, timeout=10.0))


@pytest.fixture(scope="module", name="providers_running")
def providers_running_fixture(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Emulator]]:
    started = []
    try:
        for kind, model in (("vllm", VLLM_MODEL), ("ollama", OLLAMA_MODEL)):
            proc, emulator = _boot(kind, tmp_path_factory.mktemp(kind), model)
            started.append((proc, emulator))
        yield {"vllm": started[0][1], "ollama": started[1][1]}
    finally:
        for proc, emulator in started:
            emulator.admin.close()
            stop(proc)


@pytest.fixture(name="emulators")
def emulators_fixture(providers_running: dict[str, Emulator]) -> dict[str, Emulator]:
    for emulator in providers_running.values():
        emulator.admin.post("/_emulator/reset").raise_for_status()
    return providers_running


@dataclass
class Gw:
    api: LiveServer
    vllm: Emulator
    ollama: Emulator

    @property
    def base_url(self) -> str:
        return f"{self.api.url}/v1"

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api.url, timeout=10, headers={"Authorization": f"Bearer {API_KEY}"}
        )

    def chat_requests(self, name: str) -> list[dict[str, Any]]:
        path = "/v1/chat/completions" if name == "vllm" else "/api/chat"
        return getattr(self, name).requests(path)  # type: ignore[no-any-return]  # Emulator API


StartGateway = Callable[..., Gw]


def providers_config(emulators: dict[str, Emulator]) -> dict[str, Any]:
    return {
        "vllm": {"kind": "vllm", "base_url": emulators["vllm"].url,
                 "models": {MODEL: VLLM_MODEL}, "priority": 0},
        "ollama": {"kind": "ollama", "base_url": emulators["ollama"].url,
                   "models": {MODEL: OLLAMA_MODEL}, "priority": 1},
    }  # fmt: skip


@pytest.fixture(name="start_gateway")
def start_gateway_fixture(
    start_api: Callable[..., LiveServer], emulators: dict[str, Emulator]
) -> StartGateway:
    """Factory: the app routed to the emulators (vLLM first); overrides go to Settings."""

    def start(**overrides: Any) -> Gw:
        values: dict[str, Any] = {
            "providers": providers_config(emulators),
            "gateway": FAST,
            "rate_limit_enabled": False,
        }
        values.update(overrides)
        return Gw(start_api(**values), emulators["vllm"], emulators["ollama"])

    return start


@pytest.fixture(name="gateway")
def gateway_fixture(start_gateway: StartGateway) -> Gw:
    return start_gateway()
