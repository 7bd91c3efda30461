"""System Health: the LLM providers (vLLM, Ollama) are reachable and serve the configured models."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.providers import emulator, providers_component


def _probe_directly(kind: str, url: str, models: list[str], timeout: float) -> list[str]:
    """Problems found asking the provider itself with its own API (empty: healthy)."""
    if kind == "vllm":
        health_path, models_path = "/health", "/v1/models"
    else:
        health_path, models_path = "/api/version", "/api/tags"
    with httpx.Client(base_url=url, timeout=timeout) as http:
        try:
            status = http.get(health_path).status_code
            listing = http.get(models_path)
        except httpx.HTTPError as exc:
            return [f"{url}: {type(exc).__name__}"]
    if status != 200:
        return [f"{url}{health_path}: HTTP {status}"]
    if listing.status_code != 200:
        return [f"{url}{models_path}: HTTP {listing.status_code}"]
    body: dict[str, Any] = listing.json()
    if kind == "vllm":
        served = {m["id"] for m in body.get("data", [])}
    else:
        served = {m["name"] for m in body.get("models", [])}
        served |= {name.removesuffix(":latest") for name in served}
    return [
        f"{url}: model {m!r} not served (has {sorted(served)})" for m in models if m not in served
    ]


@pytest.mark.checklist("health.providers")
def test_providers_up_and_serving(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Each provider is up per /health and, where reachable, answers its own health and model
    routes with the configured model listed."""
    component = providers_component(anon_client)
    providers: dict[str, Any] = component.get("providers") or {}
    statuses = {name: p.get("status") for name, p in providers.items()}
    evidence.add(
        statuses=statuses,
        routes=component.get("routes"),
        last_probe={name: p.get("last_probe_at") for name, p in providers.items()},
    )
    assert providers, "the target reports no configured provider"
    problems = [
        f"{name} is {status} per /health" for name, status in statuses.items() if status != "up"
    ]
    direct: dict[str, list[str]] = {}
    for name, provider in providers.items():
        info = emulator(target, name)
        if info is None:
            continue
        models = sorted(set((provider.get("provider_models") or {}).values()))
        direct[name] = _probe_directly(
            str(provider.get("kind")), str(info["url"]), models, config.http_timeout_s
        )
        problems += direct[name]
    evidence.add(probed_directly=sorted(direct), direct_problems=direct)
    assert not problems, "; ".join(problems)
