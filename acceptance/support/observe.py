"""Helpers the performance, load and post-deployment checks share.

Module-scoped fixtures (one load run judged by two checks) cannot use the per-test clients, so
they open their own through ``http_client``; ``api_calls`` is the reference mix of requests a
user makes; ``repo_path`` resolves the suite's repository files named in preflight.toml.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import httpx

from acceptance.harness.release import repo_path
from acceptance.harness.target import USER_AGENT, Target
from acceptance.settings import SuiteConfig
from acceptance.support.loadgen import NO_JOB, Call

__all__ = [
    "api_calls",
    "deployment_start",
    "endpoint_latencies",
    "http_client",
    "parse_time",
    "repo_path",
]
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


Request = Callable[[], httpx.Response]


def _measure(send: Request, samples: int) -> tuple[list[float], list[int]]:
    """Latencies (ms) of ``samples`` served requests, at most 3x as many attempts."""
    latencies: list[float] = []
    statuses: list[int] = []
    for _ in range(samples * 3):
        started = time.perf_counter()
        status = send().status_code
        elapsed = (time.perf_counter() - started) * 1000
        statuses.append(status)
        if status != 429:
            latencies.append(elapsed)
        if len(latencies) >= samples:
            break
    return latencies, statuses


def endpoint_latencies(
    anon: httpx.Client, client: httpx.Client, samples: int
) -> dict[str, tuple[list[float], list[int]]]:
    """Latency samples per endpoint; "search" only when the target serves GET /search."""
    job_id = client.post("/enqueue", json=NOOP).json().get("job_id", NO_JOB)
    requests: dict[str, Request] = {
        "health": lambda: anon.get("/health"),
        "enqueue": lambda: client.post("/enqueue", json=NOOP),
        "status": lambda: client.get(f"/status/{job_id}"),
    }
    if client.get("/search", params={"q": "transformer"}).status_code != 404:
        requests["search"] = lambda: client.get("/search", params={"q": "transformer"})
    return {name: _measure(send, samples) for name, send in requests.items()}
