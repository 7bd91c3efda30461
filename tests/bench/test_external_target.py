"""bench.external_target: what the gate is given at each access level, and the summary it prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.external_target import _gate_environment, summarise
from service.stack.info import MonitoringInfo, StackInfo, StackKeys


def _info(tmp_path: Path) -> StackInfo:
    emulator = {"url": "http://127.0.0.1:9", "admin_url": "http://127.0.0.1:9/admin"}
    return StackInfo(
        url="https://127.0.0.1:8443",
        ca_file=tmp_path / "ca.pem",
        environment="staging",
        dir=tmp_path,
        redis_url="redis://127.0.0.1:6379/0",
        keys=StackKeys(api="a" * 40, api_2="k2" * 20, admin="ad" * 20, revoked="r" * 40),
        key_ids=StackKeys(api="ci", api_2="ci-2", admin="ops", revoked="old"),
        emulators={
            "vllm": emulator,
            "arxiv": emulator,
            "robots": emulator,
            "github": emulator | {"repo": "org/platform"},
        },
        webhook_secrets={"github": "g" * 32, "huggingface": "h" * 32},
        monitoring=MonitoringInfo(
            prometheus_url="http://127.0.0.1:9090", alertmanager_url="http://127.0.0.1:9093"
        ),
    )


def test_access_levels_give_what_they_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stack: nothing (a caller's own PREFLIGHT_ settings dropped too); keys: keys and monitoring
    URLs; operator: those plus the log command and the fault hooks."""
    monkeypatch.setenv("PREFLIGHT_LOGS__COMMAND", "echo stale")
    info = _info(tmp_path)
    stack = {k for k in _gate_environment(info, "stack") if k.startswith("PREFLIGHT_")}
    keys = {k for k in _gate_environment(info, "keys") if k.startswith("PREFLIGHT_")}
    operator = _gate_environment(info, "operator")
    assert stack == set()
    assert keys == {
        "PREFLIGHT_API_KEY",
        "PREFLIGHT_API_KEY_2",
        "PREFLIGHT_ADMIN_KEY",
        "PREFLIGHT_POSTDEPLOY__PROMETHEUS_URL",
        "PREFLIGHT_POSTDEPLOY__ALERTMANAGER_URL",
    }
    assert keys < set(operator)
    assert "{since}" in operator["PREFLIGHT_LOGS__COMMAND"]
    assert str(tmp_path / "logs") in operator["PREFLIGHT_LOGS__COMMAND"]
    assert operator["PREFLIGHT_FAULTS__PROVIDER_DOWN__URL"] == "http://127.0.0.1:9/admin/config"
    assert "workers down" in operator["PREFLIGHT_FAULTS__WORKERS_DOWN__COMMAND"]


def test_summary_lists_every_item_that_did_not_pass() -> None:
    checklist = {
        "verdict": "ready_with_unverified",
        "items": [
            {"id": "a.one", "verdict": "pass"},
            {"id": "b.two", "verdict": "not_verified", "reason": "set [logs] command"},
            {"id": "c.three", "verdict": "needs_confirmation", "reason": None},
        ],
    }
    counts, others = summarise(checklist)
    assert counts == {"pass": 1, "not_verified": 1, "needs_confirmation": 1}
    assert [item["id"] for item in others] == ["b.two", "c.three"]
    assert others[0]["reason"] == "set [logs] command"
