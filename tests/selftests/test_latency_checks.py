"""latency.ttft and latency.tokens-per-second fail when the model server is slow, and
load.concurrent-users and post1h.performance-stable when its capacity drops.

The faults are injected at run time through the vLLM emulator's admin route (stack.json
``emulators.vllm.admin_url``), the way a slow GPU or an overloaded model would show: the
gateway passes the slowness through, and the checks must see it. The stack's emulator runs the
batching engine, so the faults are its cost model's: a front end that takes a second before
the scheduler sees a request (TTFT), a GPU whose decode steps take 50 ms more per request, an
engine that batches 2 sequences instead of the stack's 16 (its saturation knee falls from ~11
to ~1.5 requests/s).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.stack import Stack, StackOptions, running_stack
from tests.selftests.broken import failed, run_checks

# Short runs are enough to move a median far past the objective, or a step past the knee.
SHORT_RUNS = """[workload.gate]
duration_s = 2.0
warmup_s = 0.5
request_timeout_s = 10.0
"""
# ... and short answers for the latency boxes (the capacity self-test keeps the declared 64).
FAST_LOAD = "[workload.output]\nmean = 16\n" + SHORT_RUNS
TTFT = "latency.ttft"
TPS = "latency.tokens-per-second"
USERS = "load.concurrent-users"
STABLE = "post1h.performance-stable"


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


@pytest.mark.timeout(300)
def test_capacity_checks_follow_the_engine(latency_stack: Stack, tmp_path: Path) -> None:
    """An engine that batches 2 sequences: the declared 4 requests/s and the capacity search
    fail load.concurrent-users (capacity below expected_rate 8), and a baseline run whose
    capacity was 8 fails post1h.performance-stable (7.2 requests/s no longer meet the SLO).
    The baseline's API figures are generous, so only the capacity decides that item."""
    slow = {"health": 10_000.0, "enqueue": 10_000.0, "status": 10_000.0, "search": 10_000.0}
    previous = tmp_path / "previous.json"
    previous.write_text(
        json.dumps(
            {
                "schema": 1,
                "items": [
                    {"id": "latency.api", "verdict": "pass", "evidence": {"p95_ms": slow}},
                    {"id": USERS, "verdict": "pass", "evidence": {"capacity_rate": 8.0}},
                ],
            }
        )
    )
    config = f'{SHORT_RUNS}[report]\nprevious_run = "{previous}"\n'
    _configure_vllm(latency_stack, {"max_num_seqs": 2})
    try:
        items = run_checks(latency_stack.info.stack_json, [USERS, STABLE], tmp_path, config=config)
    finally:
        _configure_vllm(latency_stack, {})
    assert not failed(items, [USERS, STABLE]), failed(items, [USERS, STABLE])
    evidence = items[USERS]["evidence"]
    assert (evidence["capacity_rate"] or 0.0) < evidence["expected_rate"], evidence
    assert "capacity regressed" in str(items[STABLE]["reason"]), items[STABLE]
