"""Operational Security: untrusted content is parsed in a sandbox that stops hostile input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import health

PROBES = ("cpu", "memory", "write", "connect", "xml-bomb")
# What stops each probe when the sandbox works. Any other reason ("parse_error", "crashed")
# means the probe broke before it reached the limit: containment was not shown.
STOPPED_BY = {
    "cpu": {"cpu_limit", "timeout"},
    "memory": {"memory_limit"},
    "write": {"blocked"},
    "connect": {"blocked"},
    "xml-bomb": {"xml_forbidden"},
}


@pytest.mark.checklist("opsec.sandbox")
def test_hostile_input_is_contained(
    admin_client: httpx.Client, anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """A CPU burner, a memory bomb, a write outside the scratch directory, a connect attempt and
    a billion-laughs document are each stopped by the limit meant for it, with its reason and
    detail; the service survives."""
    results: dict[str, Any] = {}
    for kind in PROBES:
        response = admin_client.post("/admin/sandbox/probe", json={"kind": kind}, timeout=60)
        assert response.status_code == 200, f"probe {kind}: {response.status_code} {response.text}"
        results[kind] = response.json()
    alive = anon_client.get("/health/live").status_code == 200
    workers = health(anon_client)["components"]["workers"]["alive"]
    evidence.add(
        probes={
            k: {"stopped": v["stopped"], "reason": v["reason"], "elapsed_s": v["elapsed_s"]}
            for k, v in results.items()
        },
        api_alive=alive,
        workers_alive=workers,
    )
    escaped = {k: v["reason"] for k, v in results.items() if not v["stopped"]}
    assert not escaped, f"hostile input not stopped by the sandbox: {escaped}"
    unclear = {
        k: f"{v['reason']}: {v.get('detail')}"
        for k, v in results.items()
        if v["reason"] not in STOPPED_BY[k] or not v.get("detail")
    }
    assert not unclear, f"probes not stopped by the limit meant for them: {unclear}"
    assert all(v["sandboxed"] for v in results.values()), "parsing does not run sandboxed"
    assert alive, "the API did not survive the probes"
