"""Build and serve an emulator app on uvicorn, with an HTTP protocol that can refuse service.

An outage of mode "refuse" must look like a dead upstream: the client sees its connection reset,
not an HTTP answer. ASGI cannot reach the socket, so the httptools protocol is subclassed: it
resets (SO_LINGER 0 + abort, i.e. a TCP RST) connections whose request is not an admin one.
Each chunk is written to the transport as it is sent (asyncio sets TCP_NODELAY), so the
pacing schedule is what reaches the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import struct
import time
from pathlib import Path
from typing import Any, ClassVar, cast

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.emulators.admin import install_admin
from service.emulators.config import from_arguments
from service.emulators.middleware import ARRIVED_KEY, EmulatorMiddleware, ErrorRenderer
from service.emulators.recorder import Recorder
from service.emulators.state import ADMIN_PREFIX, EmulatorState

_ADMIN_PREFIX_B = ADMIN_PREFIX.encode()


def build_app(state: EmulatorState, render_error: ErrorRenderer, **fastapi: Any) -> FastAPI:
    """A FastAPI app with the emulator's middleware and admin routes; routes added by caller."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, **fastapi)
    app.state.emulator = state
    install_admin(app)
    app.add_middleware(EmulatorMiddleware, state=state, render_error=render_error)
    return app


def state_from_arguments(name: str, args: argparse.Namespace) -> EmulatorState:
    return EmulatorState(name, from_arguments(args), Recorder(args.requests_log), args.admin_token)


def _reset_socket(transport: asyncio.Transport) -> None:
    """Close with a TCP RST: the client reads ECONNRESET, as from a crashed process."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone: abort() is all that is left
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def protocol_for(state: EmulatorState) -> type[HttpToolsProtocol]:
    """An httptools protocol class bound to one emulator's state."""

    class RefusingProtocol(HttpToolsProtocol):
        emulator_state: ClassVar[EmulatorState] = state
        emulator_refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows the type the same way
            super().connection_made(transport)
            self.emulator_state.connections.add(self)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            # The request's first bytes are parsed: what "received" means on the wire (the
            # middleware runs later when the event loop is busy; it records that as queued_ms).
            arrived = (time.monotonic(), time.time())
            cast(dict[str, Any], self.scope)[ARRIVED_KEY] = arrived  # an ASGI extension key

        def on_headers_complete(self) -> None:
            refusing = self.emulator_state.config.outage == "refuse"
            self.emulator_refused = refusing and not self.url.startswith(_ADMIN_PREFIX_B)
            if self.emulator_refused:
                _reset_socket(self.transport)
                return
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self.emulator_refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self.emulator_refused:
                super().on_message_complete()

        def emulator_reset(self) -> None:
            """Cut this connection unless it is serving an admin request right now."""
            scope = self.scope
            if scope is not None and str(scope.get("path", "")).startswith(ADMIN_PREFIX):
                return
            if self.transport is not None and not self.transport.is_closing():
                _reset_socket(self.transport)

    return RefusingProtocol


def serve(
    app: FastAPI, state: EmulatorState, args: argparse.Namespace, *, server_header: bool = True
) -> None:
    """Bind (port 0 allowed), publish the port, serve until SIGINT/SIGTERM.

    `server_header=False` for servers that send none (Ollama is Go's net/http, vLLM uvicorn).
    """
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    port = sock.getsockname()[1]
    if args.port_file:
        # Written only once the socket listens, and atomically, so a reader never sees half.
        tmp = Path(f"{args.port_file}.{os.getpid()}.tmp")
        tmp.write_text(f"{port}\n", encoding="utf-8")
        tmp.replace(args.port_file)
    config = uvicorn.Config(
        app,
        http=protocol_for(state),
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=5,  # vLLM's default (VLLM_HTTP_TIMEOUT_KEEP_ALIVE)
        backlog=2048,
        server_header=server_header,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        state.recorder.close()
        sock.close()
