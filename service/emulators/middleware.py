"""ASGI middleware: stamp each request on arrival, apply outages, and log what was sent.

It sits outside the routing so the arrival time (the HTTP protocol's stamp, else its own) is
taken before any body parsing (TTFT is measured from it) and so outages answer every route,
including ones the emulator lacks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.emulators.recorder import redact_headers
from service.emulators.state import ADMIN_PREFIX, EmulatorState, Fault, RequestContext

# Renders a fault in the emulated server's own error format: (body, content type).
ErrorRenderer = Callable[[Fault], tuple[bytes, str]]

_CONTEXT_KEY = "emulator.context"
# (monotonic, wall) when the server's HTTP protocol started parsing the request
# (service/emulators/server.py): t0, the origin of TTFT and pacing. Stamping here instead would
# leave out the time the parsed request waits for the event loop (1-2 ms at 64 streams).
ARRIVED_KEY = "emulator.arrived"


def context_of(request: Request) -> RequestContext:
    """The context the middleware attached to this request."""
    context: RequestContext = request.scope[_CONTEXT_KEY]
    return context


class EmulatorMiddleware:
    """Wraps the emulator app: context, gate faults (outage, loading), request log."""

    def __init__(self, app: ASGIApp, state: EmulatorState, render_error: ErrorRenderer) -> None:
        self.app = app
        self.state = state
        self.render_error = render_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        now = time.monotonic()
        arrived: tuple[float, float] | None = scope.get(ARRIVED_KEY)
        t0, wall = arrived if arrived is not None else (now, time.time())
        context = RequestContext(
            t0=t0,
            wall=wall,
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=redact_headers(scope["headers"]),
            client=f"{client[0]}:{client[1]}" if client else None,
        )
        scope[_CONTEXT_KEY] = context
        if arrived is not None:  # how long the parsed request waited for the event loop
            context.extra["queued_ms"] = round((now - t0) * 1000, 3)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                context.status = message["status"]
            elif message["type"] == "http.response.body" and context.first_byte_s is None:
                has_body = bool(message.get("body"))
                context.first_byte_s = time.monotonic() - context.t0 if has_body else None
            await send(message)

        try:
            fault = self.state.gate_fault()
            if fault is None:
                await self.app(scope, receive, recording_send)
            else:
                context.fault = fault.kind
                await self._send_fault(fault, recording_send)
        except asyncio.CancelledError:
            context.disconnected = True
            raise
        finally:
            for cleanup in context.cleanups:
                cleanup()
            self.state.recorder.add(context.to_record(time.monotonic()))

    async def _send_fault(self, fault: Fault, send: Send) -> None:
        body, content_type = self.render_error(fault)
        headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
