"""Uvicorn's httptools protocol with a request-header deadline and size cap (slowloris defence).

Uvicorn arms a timer only between requests on a kept-alive connection, and any byte received
cancels it, so a client trickling header bytes holds a connection (and a slot of
``--limit-concurrency``) for ever. This protocol gives every request ``http_header_timeout_s``
from the moment the connection opened, or from the first byte of a later request on a kept-alive
connection, to complete its headers, then closes the connection and records a ``slow_headers``
security event. An idle kept-alive connection (no byte of a next request yet) is uvicorn's
``--timeout-keep-alive`` to close, not a slow client: behind an ingress that keeps connections
to the API open between requests, the idle ones are no attack, and the ingress's own
keep-alive timeout must stay below the API's so it never reuses a connection the API closed.
Request line and headers together may not exceed ``--h11-max-incomplete-event-size`` bytes (the
cap uvicorn's h11 protocol applies; httptools has none): past it the answer is uvicorn's 400 and
the connection closes. Its writes go through `service.http.coalesced_writes.CoalescingTransport` (a
response's head leaves with its first body bytes).

httptools (llhttp, C) rather than h11 (pure Python): parsing a request costs a fraction, which
measured 0.4 ms of the gateway's time to first token on the reference machine.

Used as ``uvicorn --http service.http.slow_clients:HeaderTimeoutProtocol``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.http.coalesced_writes import CoalescingTransport
from service.security.api_keys import record_event
from service.settings import get_settings

# h11's own default for the largest request head (uvicorn passes it as max_incomplete_event_size).
DEFAULT_MAX_HEAD_BYTES = 16 * 1024


class HeadTooLarge(Exception):
    """Raised from a parser callback: httptools reports it as a parse error (400, close)."""


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that closes connections whose request headers do not arrive in time
    or do not fit the head size cap."""

    header_timeout_s: float | None = None  # None: read from the settings on first use

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._awaiting_head = True
        self._head_bytes = 0
        self._max_head_bytes = self.config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES
        if self.header_timeout_s is None:
            type(self).header_timeout_s = get_settings().http_header_timeout_s

    def connection_made(  # type: ignore[override]  # uvicorn narrows asyncio's signature
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]  # a proxy of the transport
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    # Parser callbacks: count the head, note when it is complete.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head, self._head_bytes = True, 0
        if self._header_timer is None:  # a later request: its deadline runs from its first byte
            self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self._max_head_bytes:
            raise HeadTooLarge(f"request head over {self._max_head_bytes} bytes")

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        assert self.header_timeout_s is not None
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        """Close the connection if it is still waiting for (the rest of) request headers."""
        self._header_timer = None
        if self.transport.is_closing() or not self._awaiting_head:
            return
        record_event("slow_headers")
        self.transport.close()
