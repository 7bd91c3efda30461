"""latency.ttft and latency.tokens-per-second fail when the model server is slow.

The faults are injected at run time through the vLLM emulator's admin route (stack.json
``emulators.vllm.admin_url``), the way a slow GPU or an overloaded model would show: the
gateway passes the slowness through, and the checks must see it. The stack's emulator runs the
batching engine, so the faults are its cost model's: a front end that takes a second before
the scheduler sees a request (TTFT), a GPU whose decode steps take 50 ms more per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.stack import Stack, StackOptions, running_stack
from tests.selftests.broken import failed, run_checks

# Short runs: a few streams of few tokens are enough to move a median far past the objective.
FAST_LOAD = "[reference_load]\nstreams = 2\nduration_s = 1.0\nmax_tokens = 8\n"
TTFT = "latency.ttft"
TPS = "latency.tokens-per-second"


@pytest.fixture(scope="module")
def latency_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("latency") / "stack"
    with running_stack(StackOptions(workers=0, directory=directory)) as stack:
        yield stack


def _configure_vllm(stack: Stack, patch: dict[str, Any]) -> None:
    admin_url = stack.info.emulators["vllm"]["admin_url"]
    with httpx.Client(timeout=10.0) as admin:
        if patch:
            admin.post(f"{admin_url}/config", json=patch).raise_for_status()
        else:
            admin.post(f"{admin_url}/reset").raise_for_status()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("patch", "ids"),
    [({}, []), ({"queue_us": 1_000_000}, [TTFT]), ({"decode_us_per_seq": 50_000}, [TPS])],
    ids=["healthy", "slow first token", "throttled tokens"],
)
def test_latency_checks_follow_the_model_server(
    latency_stack: Stack, tmp_path: Path, patch: dict[str, Any], ids: list[str]
) -> None:
    """Healthy: both pass. +1 s (x the stack's time scale) before scheduling: latency.ttft
    fails; +50 ms per decoding request per step (x the scale): tokens/s fails.

    (A slow first token also lowers aggregate throughput, so the other check may fail too.)
    """
    _configure_vllm(latency_stack, patch)
    try:
        items = run_checks(latency_stack.info.stack_json, [TTFT, TPS], tmp_path, config=FAST_LOAD)
    finally:
        _configure_vllm(latency_stack, {})
    assert not failed(items, ids), failed(items, ids)
    if not ids:  # a check that cannot pass on a healthy stack would be as useless
        assert all(items[i]["verdict"] == "pass" for i in (TTFT, TPS)), [items[TTFT], items[TPS]]
