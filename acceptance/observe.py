"""Helpers the performance, load and post-deployment checks share.

Module-scoped fixtures (one load run judged by two checks) cannot use the per-test clients, so
they open their own through ``http_client``; ``api_calls`` is the reference mix of requests a
user makes; ``repo_path`` resolves the suite's repository files named in preflight.toml.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from acceptance.config import SuiteConfig
from acceptance.loadgen import Call
from acceptance.release import repo_path
from acceptance.target import USER_AGENT, Target

__all__ = ["api_calls", "deployment_start", "http_client", "parse_time", "repo_path"]
NOOP = {"kind": "noop", "queue": "hot", "payload": {}}


def http_client(target: Target, config: SuiteConfig, key: str | None = None) -> httpx.Client:
    """A client like the ``client`` fixtures', for module-scoped fixtures."""
    headers = {"User-Agent": USER_AGENT}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(
        base_url=target.url, verify=target.verify, timeout=config.http_timeout_s, headers=headers
    )


def api_calls(target: Target) -> list[Call]:
    """A user's cycle: health, then (with an API key) enqueue a no-op job and read its status."""
    calls = [Call("health", "GET", "/health")]
    if target.api_key is not None:
        calls += [
            Call("enqueue", "POST", "/enqueue", json=NOOP, key=target.api_key),
            Call("status", "GET", "/status/{job_id}", key=target.api_key),
        ]
    return calls


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO-8601 timestamp (Z or offset) as an aware datetime; None when absent."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def deployment_start(config: SuiteConfig, target: Target, phase: str) -> dt.datetime:
    """When the deployment started: configured, else the stack's start, else now - window."""
    if config.postdeploy.deployed_at is not None:
        moment = config.postdeploy.deployed_at
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    started = parse_time(target.stack.started_at) if target.stack is not None else None
    if started is not None:
        return started
    window = config.postdeploy.window_s.get(phase, 300.0)
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=window)
