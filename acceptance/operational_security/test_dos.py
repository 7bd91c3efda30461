"""Operational Security: oversized bodies, slow headers and floods are refused; the API stays up.

Each part is its own check under ``opsec.dos``, so a report says which shield is missing. The
slow-header client is a raw TLS socket that trickles one header byte at a time: its pace is set
by a bounded ``recv`` on the socket (which also notices the close), not by sleeping.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from acceptance.config import SuiteConfig
from acceptance.fixtures import Evidence
from acceptance.promtext import scrape, total
from acceptance.target import Target
from acceptance.waiting import poll_until

STATUS_PATH = "/status/00000000000000000000000000000000"
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


@pytest.mark.destructive
@pytest.mark.checklist("opsec.dos", "opsec.security-events")
def test_flood_shed_while_alive(
    raw_client_2: httpx.Client,
    anon_client: httpx.Client,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """A concurrent flood past a key's limit is shed (429/503) and counted; liveness holds."""
    o = config.observability
    limit = _limit_of(raw_client_2)
    assert limit is not None, "no RateLimit-Limit header: nothing limits one client's flood"
    assert limit <= config.rate_limit_probe_max, (
        f"per-key limit {limit} above rate_limit_probe_max {config.rate_limit_probe_max}"
    )
    shed_before = total(scrape(anon_client), "platform_security_events_total", event="rate_limited")
    done = threading.Event()
    live: list[tuple[int, float]] = []

    def watch_liveness() -> None:
        while not done.is_set():
            started = time.monotonic()
            try:
                status = anon_client.get("/health/live").status_code
            except httpx.HTTPError:
                status = 0
            live.append((status, time.monotonic() - started))

    watcher = threading.Thread(target=watch_liveness, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(o.flood_concurrency) as pool:
            flood = range(limit + o.flood_extra)
            statuses = list(pool.map(lambda _: raw_client_2.get(STATUS_PATH).status_code, flood))
    finally:
        done.set()
        watcher.join(timeout=config.http_timeout_s)
        poll_until(
            lambda: raw_client_2.get(STATUS_PATH).status_code != 429,
            timeout=config.rate_limit_reset_max_s,
            interval=0.5,
            message="the flooded key's limit to reset",
        )
    shed_after = total(scrape(anon_client), "platform_security_events_total", event="rate_limited")
    counts = {str(s): statuses.count(s) for s in sorted(set(statuses))}
    bad_live = [s for s, _ in live if s != 200]
    evidence.add(
        limit=limit,
        sent=len(statuses),
        statuses=counts,
        liveness_probes=len(live),
        liveness_failures=len(bad_live),
        liveness_max_s=round(max((d for _, d in live), default=0.0), 3),
        rate_limited_events=(shed_after or 0) - (shed_before or 0),
    )
    assert counts.get("429", 0) + counts.get("503", 0) > 0, f"flood not shed: {counts}"
    errors = {s: n for s, n in counts.items() if s.startswith("5") and s != "503"}
    assert not errors, f"the flood caused server errors: {errors}"
    assert live and not bad_live, f"/health/live failed during the flood: {bad_live[:5]}"
    assert (shed_after or 0) > (shed_before or 0), "rate-limit hits raised no security event"
