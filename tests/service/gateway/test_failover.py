"""Retries, failover, cooldown with failback, metrics, and cancellation of abandoned streams."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from service.waiting import poll_until
from tests.support.gateway import MODEL, Gw, StartGateway

BODY: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


def _served_by(http: httpx.Client, stream: bool = False) -> str:
    response = http.post("/v1/chat/completions", json={**BODY, "stream": stream})
    assert response.status_code == 200, response.text
    return response.headers["x-provider"]


def _providers(http: httpx.Client) -> dict[str, Any]:
    component: dict[str, Any] = http.get("/health").json()["components"]["providers"]
    return component


@pytest.mark.parametrize("outage", ["refuse", "503"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_outage_fails_over_then_fails_back(gateway: Gw, outage: str, stream: bool) -> None:
    """Primary down: served by the fallback, primary in cooldown; primary back: traffic returns."""
    with gateway.http() as http:
        assert _served_by(http, stream) == "vllm"
        gateway.vllm.configure(outage=outage)
        assert _served_by(http, stream) == "ollama"
        state = _providers(http)
        assert state["status"] == "degraded"
        assert state["providers"]["vllm"]["status"] in ("cooldown", "down")
        assert _served_by(http, stream) == "ollama"  # skipped while cooling down
        gateway.vllm.configure(outage="none")
        poll_until(
            lambda: _served_by(http, stream) == "vllm",
            timeout=10,
            interval=0.1,
            message="traffic back on vllm",
        )
        assert _providers(http)["providers"]["vllm"]["status"] == "up"
        metrics = http.get("/metrics").text
    assert 'platform_llm_provider_up{provider="vllm"} 1.0' in metrics
    assert 'platform_outbound_requests_total{destination="vllm",outcome=' in metrics


def test_5xx_is_retried_then_failed_over(gateway: Gw) -> None:
    """A 503 before the first byte is retried on vLLM, then the request moves to Ollama;
    the client sees neither error, and the failover is counted."""
    gateway.vllm.configure(error_rate=1.0, error_status=503)  # probes (GET /health) still pass
    with gateway.http() as http:
        assert _served_by(http) == "ollama"
        metrics = http.get("/metrics").text
    assert [r["status"] for r in gateway.chat_requests("vllm")] == [503, 503]
    assert 'platform_llm_failovers_total{from_provider="vllm",to_provider="ollama"}' in metrics


def test_client_error_from_provider_is_not_retried(gateway: Gw) -> None:
    """A 4xx that is the request's fault (context too long) is passed on, not failed over."""
    with gateway.http() as http:
        # Under the gateway's cap (32768) but above the emulated model's context (8192).
        response = http.post("/v1/chat/completions", json={**BODY, "max_tokens": 9000})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "upstream_error"
    assert len(gateway.chat_requests("vllm")) == 1 and gateway.chat_requests("ollama") == []


def test_no_fallback_configured_fails_with_503(start_gateway: StartGateway) -> None:
    """With only the primary routed and it down, the client gets 503 in the error format."""
    gw = start_gateway(chat_routes={MODEL: ["vllm"]})
    gw.vllm.configure(outage="refuse")
    with gw.http() as http:
        response = http.post("/v1/chat/completions", json=BODY)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "providers_unavailable"


def test_request_id_forwarded_to_ollama(start_gateway: StartGateway) -> None:
    """The client's X-Request-ID reaches the provider too."""
    gw = start_gateway(chat_routes={MODEL: ["ollama"]})
    with gw.http() as http:
        http.post("/v1/chat/completions", json=BODY, headers={"X-Request-ID": "rid-ollama-7"})
    assert gw.chat_requests("ollama")[-1]["request_id"] == "rid-ollama-7"


@pytest.mark.parametrize("provider", ["vllm", "ollama"])
def test_client_disconnect_cancels_upstream(start_gateway: StartGateway, provider: str) -> None:
    """A client leaving mid-stream closes the upstream request: the provider stops generating."""
    gw = start_gateway(chat_routes={MODEL: [provider]})
    getattr(gw, provider).configure(output_tokens=5000, itl_ms=5)
    with (
        gw.http() as http,
        http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    record = poll_until(
        lambda: next(iter(gw.chat_requests(provider)), None),
        timeout=10,
        interval=0.05,
        message="the provider's record of the abandoned stream",
    )
    assert record["disconnected"] is True
    assert record["tokens"] < 5000
