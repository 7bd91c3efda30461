"""A vLLM emulator subprocess for the load tests, reset before each test.

Started the one way the tests start emulators (tests/support/emulators.py), so the measurement is
tested against the wire format a real vLLM (and the gateway, which speaks it) sends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulators import LOAD_MODEL, Emulator, running_emulator


@pytest.fixture(scope="module")
def _load_vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    flags = ("--model", LOAD_MODEL, "--ttft-ms", "100", "--itl-ms", "10", "--output-tokens", "20")
    with running_emulator("vllm", tmp_path_factory.mktemp("load-vllm"), *flags) as emulator:
        yield emulator


@pytest.fixture
def vllm_emulator(_load_vllm: Emulator) -> Emulator:
    return _load_vllm.reset()
