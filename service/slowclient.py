"""Uvicorn's h11 protocol with a request-header deadline: slow-header (slowloris) defence.

Uvicorn arms a timer only between requests on a kept-alive connection, and any byte received
cancels it, so a client trickling header bytes holds a connection (and a slot of
``--limit-concurrency``) for ever. This protocol gives every request ``http_header_timeout_s``
from the moment the connection opened, or the previous response ended, to complete its headers,
then closes the connection and records a ``slow_headers`` security event. Its writes go through
`service.writes.CoalescingTransport` (a response's head leaves with its first body bytes).

Used as ``uvicorn --http service.slowclient:HeaderTimeoutH11Protocol``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.security import record_event
from service.settings import get_settings
from service.writes import CoalescingTransport


class HeaderTimeoutH11Protocol(H11Protocol):
    """H11Protocol that closes connections whose request headers do not arrive in time."""

    header_timeout_s: float | None = None  # None: read from the settings on first use

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
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

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

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
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        record_event("slow_headers")
        self.transport.close()
