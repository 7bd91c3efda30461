"""The one outbound HTTP client of the platform: every external call goes through `OutboundClient`.

What it guarantees, and why:

- Egress: each URL and every redirect hop is vetted by `EgressPolicy` on its *resolved* address,
  and the connection goes to exactly that address (Host header and TLS SNI keep the name), so a
  DNS answer cannot change between check and connect (rebinding). Redirects are followed here, by
  hand, at most ``outbound_max_redirects`` hops. Refusals raise `EgressRefused`, count
  ``outcome="refused"`` and record a security event: nothing reaches the network.
- Identity: ``User-Agent: preflight-platform/<version> (+<outbound_contact>)`` as arXiv, GitHub
  and Hugging Face ask of API clients.
- Manners: one request on the wire per destination across all processes, and a destination's
  429/503 ``Retry-After`` and ``X-RateLimit-Remaining: 0`` pause every process (state in Redis,
  `service.outbound.limits`); a wait longer than ``outbound_max_rate_wait_s`` raises
  `RateLimitedError` instead of blocking.
- Bounds: connect/read timeouts and a total deadline per hop (connect + read timeout, so a
  server trickling bytes cannot hold the destination's one connection), a response size cap, no
  proxies from the environment (a proxy would connect to the name, not the vetted address).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis
from prometheus_client import Histogram

from service import __version__
from service.outbound import request_log
from service.outbound.egress import EgressPolicy, EgressRefused, OutboundError, Vetted
from service.outbound.limits import (
    DestinationBusyError,
    LocalGate,
    RateGate,
    RateLimitedError,
    RedisGate,
)
from service.outbound.metrics import OUTBOUND_REQUESTS
from service.security.api_keys import record_event
from service.settings import Settings

__all__ = [
    "DestinationBusyError",
    "EgressRefused",
    "OutboundClient",
    "OutboundError",
    "OutboundResponse",
    "RateLimitedError",
    "ResponseTooLargeError",
    "TooManyRedirectsError",
]

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# Headers that must not follow a redirect to another origin (credentials of the first one).
_ORIGIN_BOUND_HEADERS = ("authorization", "cookie", "x-hub-signature-256", "x-webhook-secret")
UNLISTED = "unlisted"

OUTBOUND_DURATION = Histogram(
    "platform_outbound_request_duration_seconds",
    "Time of an outbound call through OutboundClient, redirects and rate-limit waits included.",
    ["destination"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


class TooManyRedirectsError(OutboundError):
    """The redirect chain was longer than ``outbound_max_redirects``."""


class ResponseTooLargeError(OutboundError):
    """The body exceeded the size cap; the connection was closed."""


class OutboundTimeoutError(OutboundError):
    """Connect or read took longer than the configured timeouts."""


@dataclass(slots=True)
class OutboundResponse:
    """A fully read response; `url` is the final URL by name (after redirects)."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: httpx.URL
    redirects: list[str] = field(default_factory=list)
    rate_wait_s: float = 0.0

    @property
    def text(self) -> str:
        return httpx.Response(self.status_code, headers=self.headers, content=self.content).text

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300


def user_agent(settings: Settings) -> str:
    return f"preflight-platform/{__version__} (+{settings.outbound_contact})"


class OutboundClient:
    """Use one per process (or per app); ``await client.aclose()`` when done."""

    def __init__(self, settings: Settings, redis: aioredis.Redis) -> None:
        self.settings = settings
        self.redis = redis
        self.policy = EgressPolicy.from_settings(settings)
        self._deadline_s = settings.outbound_connect_timeout_s + settings.outbound_read_timeout_s
        wait = settings.outbound_max_rate_wait_s
        self.gate: RateGate = (
            LocalGate(max_wait_s=wait)
            if settings.outbound_rate_state == "local"
            else RedisGate(redis, max_wait_s=wait, request_s=self._deadline_s)
        )
        self.user_agent = user_agent(settings)
        self._timeout = httpx.Timeout(
            settings.outbound_read_timeout_s, connect=settings.outbound_connect_timeout_s
        )
        # One pool per (scheme, host name): a TLS connection verified for one name must never
        # be reused for another name that happens to share the address.
        self._clients: dict[tuple[str, str], httpx.AsyncClient] = {}

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def get(self, url: str, **kwargs: Any) -> OutboundResponse:
        return await self.request("GET", url, **kwargs)

    async def request(
        self,
        method: str,
        url: str,
        *,
        destination: str | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        max_bytes: int | None = None,
        retry_on_429: bool = True,
    ) -> OutboundResponse:
        """Send a request under every rule of the module docstring; raise `OutboundError`s."""
        started = time.perf_counter()
        label = destination or UNLISTED
        outcome = "error"
        try:
            target = httpx.URL(url, params=params) if params else httpx.URL(url)
            first = await self._vet(target, destination)
            label = destination or first.entry.text
            response = await self._follow(
                method, first, destination, headers or {}, content, max_bytes, retry_on_429
            )
            outcome = (
                "ok"
                if response.status_code < 400
                else ("rate_limited" if response.status_code == 429 else "http_error")
            )
            return response
        except EgressRefused:
            outcome = "refused"
            raise
        except RateLimitedError:
            outcome = "rate_limited"
            raise
        except OutboundTimeoutError:
            outcome = "timeout"
            raise
        finally:
            OUTBOUND_REQUESTS.labels(destination=label, outcome=outcome).inc()
            OUTBOUND_DURATION.labels(destination=label).observe(time.perf_counter() - started)

    async def _vet(self, url: httpx.URL, destination: str | None) -> Vetted:
        try:
            return await self.policy.vet(url)
        except EgressRefused as exc:
            record_event(
                "egress_refused",
                None,
                destination=destination or UNLISTED,
                target_host=url.host,
                refusal=exc.reason,
            )
            raise

    async def _follow(
        self,
        method: str,
        hop: Vetted,
        destination: str | None,
        headers: dict[str, str],
        content: bytes | None,
        max_bytes: int | None,
        retry_on_429: bool,
    ) -> OutboundResponse:
        redirects: list[str] = []
        waited = 0.0
        attempts_429 = 0
        while True:
            name = destination or hop.entry.text
            key = f"{hop.host}:{hop.port}"
            # The answer is recorded before the turn ends: the next request (any process) sees it.
            async with self.gate.turn(key, name) as wait:
                waited += wait
                response, body = await self._send_recorded(
                    name, method, hop, headers, content, max_bytes
                )
                delay = await self.gate.observe(key, response)
            if (
                response.status_code == 429
                and retry_on_429
                and attempts_429 == 0
                and delay is not None
                and delay <= self.settings.outbound_max_rate_wait_s
            ):
                attempts_429 += 1
                continue
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return OutboundResponse(
                    response.status_code, response.headers, body, hop.url, redirects, waited
                )
            if len(redirects) >= self.settings.outbound_max_redirects:
                raise TooManyRedirectsError(f"more than {len(redirects)} redirects from {hop.url}")
            next_url = hop.url.join(location)
            redirects.append(str(next_url))
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method == "POST"
            ):
                method, content = ("HEAD" if method == "HEAD" else "GET"), None
            next_hop = await self._vet(next_url, destination)
            if (next_hop.scheme, next_hop.host, next_hop.port) != (hop.scheme, hop.host, hop.port):
                headers = {
                    k: v for k, v in headers.items() if k.lower() not in _ORIGIN_BOUND_HEADERS
                }
            hop = next_hop

    def _client(self, hop: Vetted) -> httpx.AsyncClient:
        key = (hop.scheme, hop.host)
        client = self._clients.get(key)
        if client is None:
            ca = self.settings.outbound_ca_file
            client = httpx.AsyncClient(
                timeout=self._timeout,
                follow_redirects=False,
                trust_env=False,
                verify=str(ca) if ca else True,
            )
            self._clients[key] = client
        return client

    async def _send_recorded(
        self,
        destination: str,
        method: str,
        hop: Vetted,
        headers: dict[str, str],
        content: bytes | None,
        max_bytes: int | None,
    ) -> tuple[httpx.Response, bytes]:
        """``_send``, with the request put on the platform's outbound record whatever happens."""
        sent_at, status, outcome = time.time(), None, "error"
        try:
            response, body = await self._send(method, hop, headers, content, max_bytes)
            status = response.status_code
            outcome = "ok" if status < 400 else ("rate_limited" if status == 429 else "http_error")
            return response, body
        except OutboundTimeoutError:
            outcome = "timeout"
            raise
        finally:
            await request_log.record_request(
                self.redis,
                f"{hop.host}:{hop.port}",
                destination=destination,
                method=method,
                path=hop.url.path,
                sent_at=sent_at,
                status=status,
                outcome=outcome,
            )

    async def _send(
        self,
        method: str,
        hop: Vetted,
        headers: dict[str, str],
        content: bytes | None,
        max_bytes: int | None,
    ) -> tuple[httpx.Response, bytes]:
        """One request to the vetted address, whole, within the hop's total deadline."""
        try:
            async with asyncio.timeout(self._deadline_s):
                return await self._exchange(method, hop, headers, content, max_bytes)
        except TimeoutError as exc:
            raise OutboundTimeoutError(
                f"{hop.host}: no complete answer within {self._deadline_s:g} s"
            ) from exc

    async def _exchange(
        self,
        method: str,
        hop: Vetted,
        headers: dict[str, str],
        content: bytes | None,
        max_bytes: int | None,
    ) -> tuple[httpx.Response, bytes]:
        """One request to the vetted address, body read up to the cap."""
        address = str(hop.address)
        ip_host = f"[{address}]" if ":" in address else address
        pinned = hop.url.copy_with(host=ip_host)
        default_port = hop.port == (443 if hop.scheme == "https" else 80)
        send_headers = {
            "User-Agent": self.user_agent,
            **headers,
            "Host": hop.host if default_port else f"{hop.host}:{hop.port}",
        }
        extensions = {"sni_hostname": hop.host} if hop.scheme == "https" else {}
        client = self._client(hop)
        request = client.build_request(
            method, pinned, headers=send_headers, content=content, extensions=extensions
        )
        cap = max_bytes or self.settings.outbound_max_response_bytes
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise OutboundTimeoutError(f"{hop.host}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise OutboundError(f"{hop.host}: {type(exc).__name__}: {exc}") from exc
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise ResponseTooLargeError(f"{hop.host}: {declared} bytes > cap {cap}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLargeError(f"{hop.host}: body over cap {cap}")
                chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise OutboundTimeoutError(f"{hop.host}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise OutboundError(f"{hop.host}: {type(exc).__name__}: {exc}") from exc
        finally:
            await response.aclose()
        return response, b"".join(chunks)
