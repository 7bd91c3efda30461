"""OutboundClient against real loopback servers: allowlist, resolved addresses, redirects,
rate limits shared through Redis, User-Agent, size cap and metrics."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from service.outbound.client import (
    EgressRefused,
    OutboundClient,
    RateLimitedError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from service.outbound.egress import EgressPolicy, is_public, parse_entry
from service.outbound.metrics import OUTBOUND_REQUESTS
from tests.support.api import api_settings


@dataclass
class Site:
    """A loopback HTTP server whose answers a test scripts per path; records every request."""

    port: int = 0
    seen: list[dict[str, str]] = field(default_factory=list)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append({"path": self.path, **{k: v for k, v in self.headers.items()}})
            status, headers, body = state.routes.get(self.path, (200, {}, b"ok"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _run(redis_url: str, tmp_path: Path, allow: list[str], url: str, **settings: Any) -> Any:
    """One request through a fresh client (flushed Redis); the response or the exception."""
    redis.Redis.from_url(redis_url).flushdb()
    values = {"egress_allowlist": allow, **settings}

    async def go() -> Any:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        outbound = OutboundClient(api_settings(redis_url, tmp_path, **values), client)
        try:
            return await outbound.get(url, destination="test")
        except Exception as exc:
            return exc
        finally:
            await outbound.aclose()
            await client.aclose()

    return asyncio.run(go())


def test_allowlisted_exact_loopback_reached_with_user_agent(
    redis_server: str, tmp_path: Path, site: Site
) -> None:
    """An exact host:port entry reaches loopback; the User-Agent names service and contact."""
    result = _run(
        redis_server,
        tmp_path,
        [f"127.0.0.1:{site.port}"],
        site.base + "/a",
        outbound_contact="mailto:ops@lab.example",
    )
    assert result.status_code == 200 and result.content == b"ok"
    assert site.seen[0]["User-Agent"].startswith("preflight-platform/")
    assert "mailto:ops@lab.example" in site.seen[0]["User-Agent"]


@pytest.mark.parametrize("allow", [[], ["*"], ["*.example.org"], ["127.0.0.1:1"]])
def test_loopback_refused_unless_exactly_allowlisted(
    redis_server: str, tmp_path: Path, site: Site, allow: list[str]
) -> None:
    """Off-list, wildcard or other-port entries never reach a loopback listener."""
    result = _run(redis_server, tmp_path, allow, site.base + "/x")
    assert isinstance(result, EgressRefused)
    assert site.seen == []


def test_wildcard_with_private_allowed_reaches_loopback(
    redis_server: str, tmp_path: Path, site: Site
) -> None:
    """egress_allow_private (unsafe) is what lets a wildcard reach private addresses."""
    result = _run(redis_server, tmp_path, ["*"], site.base + "/x", egress_allow_private=True)
    assert result.status_code == 200


def test_hostname_resolving_to_loopback_refused(
    redis_server: str, tmp_path: Path, site: Site
) -> None:
    """'localhost' under a wildcard is judged by its resolved address, not its name."""
    result = _run(redis_server, tmp_path, ["*"], f"http://localhost:{site.port}/x")
    assert isinstance(result, EgressRefused) and "non-public" in result.reason
    assert site.seen == []


@pytest.mark.parametrize(
    "to",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://127.0.0.1:9/",
    ],
)
def test_redirect_to_private_refused(
    redis_server: str, tmp_path: Path, site: Site, to: str
) -> None:
    """A redirect hop to metadata, private or loopback addresses is refused before connecting."""
    site.routes["/r"] = (302, {"Location": to}, b"")
    result = _run(redis_server, tmp_path, [f"127.0.0.1:{site.port}", "*"], site.base + "/r")
    assert isinstance(result, EgressRefused)
    assert [s["path"] for s in site.seen] == ["/r"]


def test_redirects_followed_and_bounded(redis_server: str, tmp_path: Path, site: Site) -> None:
    """Allowed redirects are followed; a loop stops at outbound_max_redirects."""
    site.routes["/a"] = (301, {"Location": "/b"}, b"")
    site.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    allow = [f"127.0.0.1:{site.port}"]
    ok = _run(redis_server, tmp_path, allow, site.base + "/a")
    assert ok.status_code == 200 and ok.redirects == [site.base + "/b"]
    loop = _run(redis_server, tmp_path, allow, site.base + "/loop", outbound_max_redirects=3)
    assert isinstance(loop, TooManyRedirectsError)


def test_retry_after_beyond_bound_raises_and_is_shared(
    redis_server: str, tmp_path: Path, site: Site
) -> None:
    """A 429 with a long Retry-After marks the destination in Redis; the next call refuses."""
    site.routes["/limited"] = (429, {"Retry-After": "120"}, b"slow down")
    allow = [f"127.0.0.1:{site.port}"]
    values = {"egress_allowlist": allow, "outbound_max_rate_wait_s": 1.0}

    async def go() -> tuple[Any, Any]:
        client = aioredis.Redis.from_url(redis_server, decode_responses=True)
        first_client = OutboundClient(api_settings(redis_server, tmp_path, **values), client)
        other_process = OutboundClient(api_settings(redis_server, tmp_path, **values), client)
        try:
            first = await first_client.get(site.base + "/limited")
            try:
                await other_process.get(site.base + "/anything")
            except RateLimitedError as exc:
                return first, exc
            return first, None
        finally:
            await first_client.aclose()
            await other_process.aclose()
            await client.aclose()

    redis.Redis.from_url(redis_server).flushdb()
    first, second = asyncio.run(go())
    assert first.status_code == 429
    assert isinstance(second, RateLimitedError) and second.retry_after_s > 100
    assert [s["path"] for s in site.seen] == ["/limited"]


def test_remaining_zero_pauses_until_reset(redis_server: str, tmp_path: Path, site: Site) -> None:
    """X-RateLimit-Remaining: 0 with a reset 1 s ahead delays the next call by about 1 s."""
    site.routes["/last"] = (200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}, b"")
    allow = [f"127.0.0.1:{site.port}"]
    values = {"egress_allowlist": allow, "outbound_max_rate_wait_s": 5.0}

    async def go() -> float:
        client = aioredis.Redis.from_url(redis_server, decode_responses=True)
        outbound = OutboundClient(api_settings(redis_server, tmp_path, **values), client)
        try:
            await outbound.get(site.base + "/last")
            return (await outbound.get(site.base + "/next")).rate_wait_s
        finally:
            await outbound.aclose()
            await client.aclose()

    redis.Redis.from_url(redis_server).flushdb()
    assert 0.5 < asyncio.run(go()) <= 1.5


def test_response_size_capped(redis_server: str, tmp_path: Path, site: Site) -> None:
    """A body over outbound_max_response_bytes raises instead of being buffered."""
    site.routes["/big"] = (200, {}, b"x" * 5000)
    result = _run(
        redis_server,
        tmp_path,
        [f"127.0.0.1:{site.port}"],
        site.base + "/big",
        outbound_max_response_bytes=1024,
    )
    assert isinstance(result, ResponseTooLargeError)


def test_refusal_counted(redis_server: str, tmp_path: Path) -> None:
    """A refusal counts outcome="refused" for its destination."""
    metric = OUTBOUND_REQUESTS.labels(destination="test", outcome="refused")
    before = metric._value.get()
    _run(redis_server, tmp_path, [], "http://169.254.169.254/")
    assert metric._value.get() == before + 1


def test_policy_units() -> None:
    """Entry parsing and the public-address rule, including IPv4-mapped IPv6."""
    import ipaddress

    assert parse_entry("[::1]:8080").host == "::1" and parse_entry("[::1]:8080").port == 8080
    assert parse_entry("*.github.com").wildcard
    assert not is_public(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not is_public(ipaddress.ip_address("100.64.0.1"))
    assert is_public(ipaddress.ip_address("140.82.112.3"))
    policy = EgressPolicy(["api.github.com"], allow_private=False, resolve_timeout_s=1.0)
    assert policy.entry_for("api.github.com", 443) is not None
    assert policy.entry_for("api.github.com", 8443) is None
