"""Fixtures of the gateway tests: real emulator processes and the real app over loopback HTTP.

The emulators run once per module (start-up costs a second) and are reset before every test;
each test gets its own app whose providers point at them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.api import LiveServer
from tests.support.emulators import Emulator, running_emulator
from tests.support.gateway import FAST, OLLAMA_MODEL, VLLM_MODEL, Gw, StartGateway, providers_config


@pytest.fixture(scope="module")
def providers_running(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Emulator]]:
    flags = ("--ttft-ms", "20", "--itl-ms", "2", "--output-tokens", "12")
    with contextlib.ExitStack() as stack:
        yield {
            kind: stack.enter_context(
                running_emulator(kind, tmp_path_factory.mktemp(kind), "--model", model, *flags)
            )
            for kind, model in (("vllm", VLLM_MODEL), ("ollama", OLLAMA_MODEL))
        }


@pytest.fixture
def emulators(providers_running: dict[str, Emulator]) -> dict[str, Emulator]:
    return {kind: emulator.reset() for kind, emulator in providers_running.items()}


@pytest.fixture
def start_gateway(
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


@pytest.fixture
def gateway(start_gateway: StartGateway) -> Gw:
    return start_gateway()
