"""Operational Security: oversized bodies, slow headers and floods are refused; the API stays up.

Each part is its own check under ``opsec.dos``, so a report says which shield is missing. The
slow-header client is a raw TLS socket that trickles one header byte at a time: its pace is set
by a bounded ``recv`` on the socket (which also notices the close), not by sleeping. The flood is
one client's many connections at once, chat streams first: the target's in-flight limit (or its
per-key limit) must shed it while liveness still answers. That the per-key limit refuses past
its budget, and counts a security event, is proven by ``auth.rate-limiting``'s check:
exhausting a key here as well would only add a wait for its reset.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.loadgen import run_load
from acceptance.support.shedding import (
    assert_shed_by_target,
    figures,
    overload_calls,
    read_counters,
)
from service.waiting import poll_until

STATUS_PATH = "/status/00000000000000000000000000000000"
# Pace of the liveness probes during the flood: several per second, without the watcher
# thread taking from the flood the client's CPU (and GIL) it needs to overload the target.
LIVENESS_EVERY_S = 0.05
SLOW_REQUEST = b"GET /health/live HTTP/1.1\r\nHost: preflight\r\nX-Slow: " + b"s" * 4096


@pytest.mark.checklist("opsec.dos")
def test_oversized_body_refused(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """A body of the policy's probe size is refused with 413 before it is processed."""
    size = config.observability.body_probe_bytes
    response = anon_client.post(
        "/enqueue", content=b" " * size, headers={"Content-Type": "application/json"}
    )
    evidence.add(body_bytes=size, status=response.status_code)
    assert response.status_code == 413, f"a {size}-byte body got {response.status_code}"


def _tls_socket(target: Target, timeout: float) -> ssl.SSLSocket:
    parts = urlsplit(target.url)
    assert parts.scheme == "https", f"target is not served over TLS: {target.url}"
    host, port = parts.hostname or "", parts.port or 443
    context = (
        target.verify if isinstance(target.verify, ssl.SSLContext) else ssl.create_default_context()
    )
    raw = socket.create_connection((host, port), timeout=timeout)
    return context.wrap_socket(raw, server_hostname=host)


def _trickle_until_closed(tls: ssl.SSLSocket, interval: float, bound: float) -> float | None:
    """Send one header byte per ``interval``; seconds until the server closed, None if never."""
    started = time.monotonic()
    tls.settimeout(interval)
    for byte in SLOW_REQUEST:
        if time.monotonic() - started > bound:
            return None
        try:
            tls.sendall(bytes([byte]))
            if tls.recv(1024) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue  # nothing from the server within the interval: send the next byte
        except (ssl.SSLError, OSError):
            return time.monotonic() - started
    return None


@pytest.mark.checklist("opsec.dos")
def test_slow_headers_closed(target: Target, config: SuiteConfig, evidence: Evidence) -> None:
    """A client trickling request headers is disconnected within the configured bound."""
    o = config.observability
    with _tls_socket(target, config.http_timeout_s) as tls:
        closed_after = _trickle_until_closed(tls, o.slow_header_interval_s, o.slow_header_max_s)
    evidence.add(
        closed_after_s=None if closed_after is None else round(closed_after, 2),
        bound_s=o.slow_header_max_s,
        byte_interval_s=o.slow_header_interval_s,
    )
    assert closed_after is not None, (
        f"a slow-header connection was still open after {o.slow_header_max_s} s"
    )


def _limit_of(client: httpx.Client) -> int | None:
    value = client.get(STATUS_PATH).headers.get("ratelimit-limit")
    return int(value.split(",")[0].split(";")[0]) if value else None


class LivenessWatch:
    """GET /health/live in a loop on its own thread while the block runs (at least once)."""

    def __init__(self, client: httpx.Client, join_s: float) -> None:
        self.client = client
        self.join_s = join_s
        self.answers: list[tuple[int, float]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while True:
            started = time.monotonic()
            try:
                status = self.client.get("/health/live").status_code
            except httpx.HTTPError:
                status = 0
            self.answers.append((status, time.monotonic() - started))
            if self.done.wait(LIVENESS_EVERY_S):
                return

    def __enter__(self) -> LivenessWatch:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join(timeout=self.join_s)


@pytest.mark.destructive
@pytest.mark.since("0.2.0")
@pytest.mark.checklist("opsec.dos")
def test_flood_shed_while_alive(
    target: Target,
    raw_client_2: httpx.Client,
    anon_client: httpx.Client,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """One client's concurrent flood is shed by the target (429/503 with Retry-After, no other
    5xx) while liveness answers throughout, and a per-client limit bounds that client."""
    o = config.observability
    calls = overload_calls(anon_client, config, target.api_key_2)
    before = read_counters(target, config, anon_client)
    with LivenessWatch(anon_client, config.http_timeout_s) as watch:
        flood = run_load(
            target,
            calls,
            users=o.flood_concurrency,
            duration_s=o.flood_max_s,
            timeout_s=config.http_timeout_s,
            max_requests=o.flood_requests,
            stop_after_shed=o.flood_shed_enough,
            connect_first=True,
        )
    after = read_counters(target, config, anon_client)
    limit = _limit_of(raw_client_2)
    stats = flood.stats(errors_include_503=False)
    if stats["limited"]:  # the flood spent the key's budget: give it back to the later checks
        poll_until(
            lambda: raw_client_2.get(STATUS_PATH).status_code != 429,
            timeout=config.rate_limit_reset_max_s,
            interval=0.5,
            message="the flooded key's limit to reset",
        )
    bad_live = [s for s, _ in watch.answers if s != 200]
    evidence.add(
        flood={**stats, "users": o.flood_concurrency, "wall_s": round(flood.wall_s, 2)},
        **figures(flood, before, after),
        per_client_limit=limit,
        liveness_probes=len(watch.answers),
        liveness_failures=len(bad_live),
        liveness_max_s=round(max((d for _, d in watch.answers), default=0.0), 3),
    )
    shed = stats["limited"] + stats["unavailable"]
    assert shed > 0, f"flood not shed: {stats['statuses']} from {o.flood_concurrency} connections"
    assert stats["errors"] == 0, f"the flood caused server errors or timeouts: {stats['statuses']}"
    assert_shed_by_target(flood, before, after)
    assert not bad_live, f"/health/live failed during the flood: {bad_live[:5]}"
    assert limit is not None, "no RateLimit-Limit header: nothing limits one client's flood"
    assert limit <= config.rate_limit_probe_max, (
        f"per-key limit {limit} above rate_limit_probe_max {config.rate_limit_probe_max}"
    )
