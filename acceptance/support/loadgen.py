"""Bounded HTTP load from inside a check: asyncio + httpx, seconds long, every request recorded.

Locust stays a separate program (load/); the checks need something smaller that runs in the
pytest process and returns raw samples: a fixed number of users, a deadline, optionally a fixed
arrival rate. Each user walks the calls in order, so a ``{job_id}`` path reads the job that user
enqueued last. Pacing to an arrival rate is the one place a check sleeps: it *is* the load shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from acceptance.harness.polite import PoliteTransport
from acceptance.harness.target import USER_AGENT, Target
from load.stats import percentile

NO_JOB = "0" * 32  # a well-formed id no job has: /status answers 404 before the first enqueue
SHED = frozenset({429, 503})
# Longest wait for a shared key's rate-limit window before a measured run: one window of the
# reference policy (10 s) with margin; a target with longer windows shows 429s in the figures.
BUDGET_WAIT_S = 15.0
# Opens a user's connection before a burst: exempt from shedding and rate limits, no work.
CONNECT_PATH = "/health/live"
ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)


@dataclass(frozen=True)
class Call:
    """One request of a user's cycle; ``name`` is the endpoint as [slo.endpoint_p95_ms] says."""

    name: str
    method: str
    path: str
    json: dict[str, Any] | None = None
    key: str | None = None


@dataclass(frozen=True)
class Sample:
    """One answered (or failed) request: when it started, how long, what came back."""

    name: str
    at_s: float
    latency_ms: float
    status: int  # 0: no HTTP answer (timeout, connection error)
    error: str | None = None
    # Of a 429/503 only: the answer's error type, code and Retry-After, which say that the
    # service shed the request by its policy (a proxy's or a server's bare 503 has none).
    error_type: str | None = None
    error_code: str | None = None
    retry_after: str | None = None

    @property
    def server_error(self) -> bool:
        """An error the service owes the user: no answer, or a 5xx other than shedding's 503."""
        return self.status == 0 or (self.status >= 500 and self.status != 503)


@dataclass
class LoadResult:
    """Every sample of a run plus its wall time; figures are computed from the raw samples."""

    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0

    def of(self, name: str | None = None) -> list[Sample]:
        return [s for s in self.samples if name is None or s.name == name]

    def names(self) -> list[str]:
        return sorted({s.name for s in self.samples})

    def stats(self, name: str | None = None, *, errors_include_503: bool = True) -> dict[str, Any]:
        """Counts and latency percentiles; 429 is "limited", never an error of the service."""
        chosen = self.of(name)
        errors = [s for s in chosen if s.server_error or (errors_include_503 and s.status == 503)]
        timed = [s.latency_ms for s in chosen if s.status not in SHED and s.status != 0]
        p50, p95 = percentile(timed, 50), percentile(timed, 95)
        return {
            "requests": len(chosen),
            "errors": len(errors),
            "limited": sum(s.status == 429 for s in chosen),
            "unavailable": sum(s.status == 503 for s in chosen),
            "error_share": round(len(errors) / len(chosen), 4) if chosen else None,
            "p50_ms": None if p50 is None else round(p50, 2),
            "p95_ms": None if p95 is None else round(p95, 2),
            "statuses": _count(str(s.status) for s in chosen),
        }

    def shed_by(self) -> dict[str, int]:
        """Shed requests by status and the answer's error code, e.g. ``{"503 overloaded": 40,
        "429 rate_limit_exceeded": 3}``; "none" where the body had no API error code."""
        return _count(
            f"{s.status} {s.error_code or 'none'}" for s in self.samples if s.status in SHED
        )

    def p95_series(self, bucket_s: float = 0.5) -> dict[str, list[list[float]]]:
        """Latency p95 per endpoint per time bucket, [[t, ms], ...]: the report's chart."""
        out: dict[str, list[list[float]]] = {}
        for name in self.names():
            buckets: dict[int, list[float]] = {}
            for s in self.of(name):
                if s.status not in SHED and s.status != 0:
                    buckets.setdefault(int(s.at_s / bucket_s), []).append(s.latency_ms)
            out[name] = [
                [round(b * bucket_s, 2), round(percentile(v, 95) or 0.0, 2)]
                for b, v in sorted(buckets.items())
            ]
        return out


def _count(values: Iterator[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def run_load(
    target: Target,
    calls: list[Call],
    *,
    users: int,
    duration_s: float,
    timeout_s: float,
    rps: float | None = None,
    max_requests: int | None = None,
    stop_after_shed: int | None = None,
    connect_first: bool = False,
) -> LoadResult:
    """Run ``users`` concurrent users until ``duration_s`` (or ``max_requests``) is reached, or
    until ``stop_after_shed`` requests were shed (429/503): an overload spike ends once shown.

    ``connect_first``: every user's connection is opened (``GET /health/live``, not recorded)
    before the clock starts, so all users send at once on open connections: a burst, however
    long TLS handshakes take on this machine, rather than a ramp as they complete one by one.
    """
    if stop_after_shed is None:
        _await_budgets(target, {c.key for c in calls if c.key}, timeout_s)
    limits = (rps, max_requests, stop_after_shed)
    run = _run(
        target.url, target.verify, calls, users, duration_s, timeout_s, limits, connect_first
    )
    return asyncio.run(run)


def _await_budgets(target: Target, keys: set[str], timeout_s: float) -> None:
    """Start a measured load only once each key has budget again: checks share the keys, and a
    run that starts on a budget another check just spent would measure that check, not this
    one. The polite transport waits out the 429 for as long as the server's Retry-After says."""
    for key in keys:
        transport = PoliteTransport(httpx.HTTPTransport(verify=target.verify), BUDGET_WAIT_S)
        with httpx.Client(
            base_url=target.url,
            transport=transport,
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {key}"},
        ) as http:
            http.get(f"/status/{NO_JOB}")


async def _run(
    url: str,
    verify: ssl.SSLContext | bool,
    calls: list[Call],
    users: int,
    duration_s: float,
    timeout_s: float,
    limits_: tuple[float | None, int | None, int | None],
    connect_first: bool,
) -> LoadResult:
    rps, max_requests, stop_after_shed = limits_
    result = LoadResult()
    shed = 0
    counter = itertools.count()
    # One client (one connection) per user: httpcore's pool scans its connections for every
    # request, so one pool of ~100 made the client the bottleneck (measured: a burst of 96
    # reads took 1.9 s through one pool, 0.3 s through 96). One TLS context for all of them:
    # building one costs tens of ms.
    context = ssl.create_default_context() if verify is True else verify
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(_user_client(url, context, timeout_s))
            for _ in range(users)
        ]
        if connect_first:
            # A failed connect is retried by its user's first request, and counted there.
            await asyncio.gather(*(c.get(CONNECT_PATH) for c in clients), return_exceptions=True)
        started = time.monotonic()
        deadline = started + duration_s

        async def user(client: httpx.AsyncClient) -> None:
            nonlocal shed
            job_id = NO_JOB
            for step in itertools.count():
                index = next(counter)
                if max_requests is not None and index >= max_requests:
                    return
                if rps is not None:
                    await asyncio.sleep(max(0.0, started + index / rps - time.monotonic()))
                if time.monotonic() >= deadline:
                    return
                if stop_after_shed is not None and shed >= stop_after_shed:
                    return
                call = calls[step % len(calls)]
                sample, body = await _send(client, call, job_id, started)
                result.samples.append(sample)
                if sample.status in SHED:
                    shed += 1
                if isinstance(body, dict) and isinstance(body.get("job_id"), str):
                    job_id = body["job_id"]

        await asyncio.gather(*(user(c) for c in clients))
    result.wall_s = time.monotonic() - started
    return result


def _user_client(url: str, verify: ssl.SSLContext | bool, timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url,
        verify=verify,
        timeout=timeout_s,
        limits=ONE_CONNECTION,
        headers={"User-Agent": USER_AGENT},
    )


async def _send(
    client: httpx.AsyncClient, call: Call, job_id: str, started: float
) -> tuple[Sample, Any]:
    headers = {"Authorization": f"Bearer {call.key}"} if call.key else {}
    begin = time.monotonic()
    try:
        response = await client.request(
            call.method, call.path.format(job_id=job_id), json=call.json, headers=headers
        )
    except httpx.HTTPError as exc:
        elapsed = (time.monotonic() - begin) * 1000
        return Sample(call.name, begin - started, elapsed, 0, type(exc).__name__), None
    elapsed = (time.monotonic() - begin) * 1000
    status = response.status_code
    body = response.json() if status == 202 else None
    sample = Sample(call.name, begin - started, elapsed, status)
    if status in SHED:
        kind, code = _error_of(response)
        retry_after = response.headers.get("retry-after")
        sample = replace(sample, error_type=kind, error_code=code, retry_after=retry_after)
    return sample, body


def _error_of(response: httpx.Response) -> tuple[str | None, str | None]:
    """``type`` and ``code`` of the API's error body; None for what a body does not say."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):  # not JSON, or JSON that is not an object
        return None, None
    if not isinstance(error, dict):
        return None, None
    kind, code = error.get("type"), error.get("code")
    return (kind if isinstance(kind, str) else None), (code if isinstance(code, str) else None)
