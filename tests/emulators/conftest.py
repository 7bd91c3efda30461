"""Emulators as real subprocesses on free loopback ports (one per module), reset between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulators import GITHUB_TOKEN, Emulator, running_emulator


@pytest.fixture(scope="module")
def _vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    flags = ("--model", "test/model", "--ttft-ms", "150", "--itl-ms", "5", "--output-tokens", "20")
    with running_emulator("vllm", tmp_path_factory.mktemp("vllm"), *flags) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def _ollama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    flags = (
        "--model",
        "llama3.2",
        "--model",
        "qwen2.5:0.5b",
        "--ttft-ms",
        "50",
        "--itl-ms",
        "5",
        "--output-tokens",
        "12",
    )
    with running_emulator("ollama", tmp_path_factory.mktemp("ollama"), *flags) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def _github_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    flags = ("--token", GITHUB_TOKEN, "--ratelimit-anonymous", "1000")
    with running_emulator("github", tmp_path_factory.mktemp("github"), *flags) as emulator:
        yield emulator


@pytest.fixture
def vllm(_vllm_server: Emulator) -> Emulator:
    return _vllm_server.reset()


@pytest.fixture
def ollama_server(_ollama_server: Emulator) -> Emulator:
    return _ollama_server.reset()


@pytest.fixture
def github(_github_server: Emulator) -> Emulator:
    """The GitHub emulator with its fixture issues, no fault and fresh rate-limit windows."""
    return _github_server.reset()
