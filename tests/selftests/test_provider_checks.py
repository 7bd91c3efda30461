"""The provider checks fail on stacks whose providers are broken the way each check guards.

One stack per fault: a configuration fault is an override at boot; a provider fault is set
through the emulator's admin route after boot (the stack's gateway sees it like a real outage).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from service.stack import StackOptions, running_stack
from service.stack.components import PUBLIC_CHAT_MODEL, STACK_GATEWAY
from tests.selftests.broken import failed, run_checks

# A provider URL nothing listens on (port 9, "discard", is closed on loopback).
DEAD_PROVIDER = json.dumps(
    {
        "vllm": {
            "kind": "vllm",
            "base_url": "http://127.0.0.1:9",
            "models": {PUBLIC_CHAT_MODEL: "meta-llama/Llama-3.1-8B-Instruct"},
        }
    }
)
# Three stacks, each carrying faults that do not mask one another (an outage of vLLM would also
# hide its /metrics, so the GPU faults sit on stacks where vLLM answers).
CASES = [
    # (name, checklist ids, boot overrides, emulator patches after boot)
    (
        "GPU hot and Ollama down",
        ["resources.gpu", "health.providers"],
        {},
        {"vllm": {"gpu_util": 99.0}, "ollama": {"outage": "503"}},
    ),
    (
        "no fallback, KV cache nearly full",
        ["integrations.provider-failover", "resources.gpu"],
        {"chat_routes": json.dumps({PUBLIC_CHAT_MODEL: ["vllm"]})},
        {"vllm": {"kv_cache_usage": 0.97}},
    ),
    (
        "provider URL broken",
        ["endpoints.chat", "health.providers"],
        {"providers": DEAD_PROVIDER},
        {},
    ),
    # Failover itself works; only a stream in flight when the primary crashes is lost.
    (
        "stream resumption off",
        ["integrations.provider-failover"],
        {"gateway": json.dumps({**STACK_GATEWAY, "resume_streams": False})},
        {},
    ),
]


@pytest.mark.timeout(200)
@pytest.mark.parametrize(("name", "ids", "overrides", "patches"), CASES, ids=[c[0] for c in CASES])
def test_provider_check_fails(
    name: str,
    ids: list[str],
    overrides: dict[str, str],
    patches: dict[str, dict[str, object]],
    tmp_path: Path,
) -> None:
    """The checks of the case's items end `fail` in checklist.json."""
    options = StackOptions(workers=0, overrides=overrides, directory=tmp_path / "stack")
    with running_stack(options) as stack:
        for provider, patch in patches.items():
            admin = stack.info.emulators[provider]["admin_url"]
            httpx.post(f"{admin}/config", json=patch, timeout=5).raise_for_status()
        items = run_checks(stack.info.stack_json, ids, tmp_path)
    assert not failed(items, ids), failed(items, ids)
