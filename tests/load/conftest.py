"""A vLLM emulator subprocess for the load tests, reset before each test.

Started exactly like tests/emulators does (same helpers), so the measurement is tested against
the wire format a real vLLM (and the gateway, which speaks it) sends.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.emulators.conftest import Emulator, start_emulator, stop

MODEL = "test/model"


@pytest.fixture(scope="module")
def _load_vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    workdir = tmp_path_factory.mktemp("load-vllm")
    log = workdir / "requests.jsonl"
    proc, url = start_emulator(
        "vllm",
        workdir,
        "--model",
        MODEL,
        "--requests-log",
        str(log),
        "--ttft-ms",
        "100",
        "--itl-ms",
        "10",
        "--output-tokens",
        "20",
    )
    admin = httpx.Client(base_url=url, timeout=10.0)
    try:
        yield Emulator(url, log, admin)
    finally:
        admin.close()
        stop(proc)


@pytest.fixture
def vllm_emulator(_load_vllm: Emulator) -> Iterator[Emulator]:
    _load_vllm.admin.post("/_emulator/reset").raise_for_status()
    yield _load_vllm
