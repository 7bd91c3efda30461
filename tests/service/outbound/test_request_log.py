"""The platform's record of its outbound requests (service/outbound/request_log.py): every
request on the wire and every robots.txt decision, per destination, capped and expiring."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from service.keyspace import keys as c
from service.outbound import request_log
from service.outbound.client import OutboundClient
from tests.support.api import api_settings

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def site() -> Iterator[int]:
    """A loopback site: /limited answers 429 with Retry-After 0 once, everything else 200."""
    answered: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            first_limited = self.path == "/limited" and "/limited" not in answered
            answered.append(self.path)
            self.send_response(429 if first_limited else 200)
            if first_limited:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _fetch(redis_url: str, tmp_path: Path, port: int, paths: list[str]) -> dict[str, Any]:
    redis.Redis.from_url(redis_url).flushdb()
    settings = api_settings(redis_url, tmp_path, egress_allowlist=[f"127.0.0.1:{port}"])

    async def go() -> dict[str, Any]:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        outbound = OutboundClient(settings, client)
        try:
            for path in paths:
                await outbound.get(f"http://127.0.0.1:{port}{path}", destination="site")
            return await request_log.read(client, 0.0, 100)
        finally:
            await outbound.aclose()
            await client.aclose()

    return asyncio.run(go())


def test_every_request_on_the_wire_recorded(redis_server: str, tmp_path: Path, site: int) -> None:
    """A page and a 429 answered then retried: three requests, in order, with their status."""
    started = time.time()
    found = _fetch(redis_server, tmp_path, site, ["/page", "/limited"])
    entries = found[f"127.0.0.1:{site}"]
    assert [(e["path"], e["status"]) for e in entries] == [
        ("/page", 200),
        ("/limited", 429),
        ("/limited", 200),
    ]
    assert all(e["kind"] == "request" and e["destination"] == "site" for e in entries)
    assert all(started <= e["time"] <= time.time() and e["duration_ms"] >= 0 for e in entries)
    assert [e["outcome"] for e in entries] == ["ok", "rate_limited", "ok"]


def test_since_filters_and_ttl_is_set(redis_server: str, tmp_path: Path, site: int) -> None:
    _fetch(redis_server, tmp_path, site, ["/page"])
    client = redis.Redis.from_url(redis_server, decode_responses=True)
    key = c.OUTBOUND_LOG_PREFIX + f"127.0.0.1:{site}"
    assert 0 < client.ttl(key) <= c.OUTBOUND_LOG_TTL_S
    assert 0 < client.ttl(c.OUTBOUND_LOG_INDEX_KEY) <= c.OUTBOUND_LOG_TTL_S

    async def later() -> dict[str, Any]:
        async_client = aioredis.Redis.from_url(redis_server, decode_responses=True)
        try:
            return await request_log.read(async_client, time.time() + 1, 100)
        finally:
            await async_client.aclose()

    assert asyncio.run(later()) == {}


def test_stream_is_capped(redis_server: str) -> None:
    """Appending far past the cap leaves about OUTBOUND_LOG_MAXLEN entries (MAXLEN ~)."""
    redis.Redis.from_url(redis_server).flushdb()

    async def flood() -> int:
        client = aioredis.Redis.from_url(redis_server, decode_responses=True)
        try:
            for i in range(c.OUTBOUND_LOG_MAXLEN * 2):
                await request_log.record_robots(client, "example.org:443", f"/p{i}", True)
            return int(await client.xlen(c.OUTBOUND_LOG_PREFIX + "example.org:443"))
        finally:
            await client.aclose()

    assert c.OUTBOUND_LOG_MAXLEN <= asyncio.run(flood()) < c.OUTBOUND_LOG_MAXLEN * 1.2
