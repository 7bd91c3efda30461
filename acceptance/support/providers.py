"""The LLM providers as the checks see them: /health's providers component, the chat model, the
official OpenAI client on the target, and the provider emulators' ground truth.

Ground truth (request logs, admin routes) exists only for the reference stack; against another
target those helpers return None and the check says what it could not verify.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai

from acceptance.harness.target import USER_AGENT, Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import health

CHAT_PATHS = {"vllm": "/v1/chat/completions", "ollama": "/api/chat"}


def providers_component(anon_client: httpx.Client) -> dict[str, Any]:
    """/health's `providers` component; a target without one cannot be checked this way."""
    component = health(anon_client)["components"].get("providers")
    if not isinstance(component, dict):
        not_verified("target's /health reports no providers component")
    return component


def chat_model(config: SuiteConfig, component: dict[str, Any]) -> str:
    if config.chat_model:
        return config.chat_model
    routes = component.get("routes") or {}
    if not routes:
        not_verified("no chat_model configured and the target lists no routes")
    return str(sorted(routes)[0])


def new_request_id() -> str:
    return f"preflight-{uuid.uuid4().hex}"


@contextmanager
def openai_client(target: Target, config: SuiteConfig) -> Iterator[openai.OpenAI]:
    """The official client on the target, verifying TLS with the target's CA; no SDK retries
    (a retry would hide the failure the check is looking for)."""
    if target.api_key is None:
        not_verified("no API key")
    # DefaultHttpxClient keeps the SDK's own defaults and takes the target's CA via `verify`.
    http = openai.DefaultHttpxClient(
        verify=target.verify, timeout=config.http_timeout_s, headers={"User-Agent": USER_AGENT}
    )
    with openai.OpenAI(
        base_url=f"{target.url}/v1", api_key=target.api_key, http_client=http, max_retries=0
    ) as client:
        yield client


def emulator(target: Target, name: str) -> dict[str, Any] | None:
    """The stack's entry for provider `name` (url, admin_url, requests_log), if any."""
    if target.stack is None:
        return None
    entry = target.stack.emulators.get(name)
    return dict(entry) if isinstance(entry, dict) else None


def provider_requests(info: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
    """Every request the provider recorded: its admin route, else its request-log file."""
    admin = info.get("admin_url")
    if admin:
        response = httpx.get(f"{admin}/requests", timeout=timeout)
        if response.status_code == 200:
            records: list[dict[str, Any]] = response.json()["requests"]
            return records
    log = info.get("requests_log")
    if log and Path(log).exists():
        lines = Path(log).read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    return []


def seen_by(info: dict[str, Any], name: str, request_id: str, timeout: float) -> bool:
    """Whether provider `name` recorded a chat request carrying `request_id`."""
    path = CHAT_PATHS.get(name)
    return any(
        r.get("request_id") == request_id and (path is None or r.get("path") == path)
        for r in provider_requests(info, timeout)
    )


def first_model(client: httpx.Client) -> str | None:
    """A model the gateway serves (``GET /v1/models``), or None without a chat gateway."""
    response = client.get("/v1/models")
    if response.status_code != 200:
        return None
    models = response.json().get("data") or []
    return str(models[0]["id"]) if models else None


def stream_chat(
    client: httpx.Client, model: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """One small streamed chat completion read to the end (status and headers stay readable)."""
    body = {
        "model": model,
        "stream": True,
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "Say hello."}],
    }
    with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
        for _ in response.iter_bytes():
            pass
        return response
