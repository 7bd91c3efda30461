"""The gateway's tests: the app routed to real vLLM and Ollama emulators (`Gw`), its models and
keys. The fixtures that build it live in tests/service/gateway/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.api import KEYS, LiveServer
from tests.support.emulators import Emulator

MODEL = "chat-model"
VLLM_MODEL = "org/Chat-Model-8B"
OLLAMA_MODEL = "chatmodel:8b"
API_KEY = KEYS["ci"]
FAST = {"cooldown_s": 0.5, "probe_interval_s": 0.1, "probe_timeout_s": 0.5, "retries": 1}


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
        "vllm": {
            "kind": "vllm",
            "base_url": emulators["vllm"].url,
            "models": {MODEL: VLLM_MODEL},
            "priority": 0,
        },
        "ollama": {
            "kind": "ollama",
            "base_url": emulators["ollama"].url,
            "models": {MODEL: OLLAMA_MODEL},
            "priority": 1,
        },
    }
