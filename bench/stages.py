"""A bench-only build of the API: uvicorn with perf_counter stamps at each stage of a request.

    BENCH_STAGES_OUT=stages.jsonl python -m bench.stages service.app:create_app --factory ...

Same arguments as ``python -m uvicorn``. Before uvicorn starts, the stages a chat request passes
on its way to the provider are wrapped (monkeypatched, in this process only) to stamp
``time.perf_counter()`` into a per-request dict; when the request ends, one JSON line with the
stamps (ms from the first bytes read), its request id and the wall time of those first bytes is
appended to ``BENCH_STAGES_OUT``. `bench.gateway overhead --stages FILE` runs its gateway this way
and joins the lines with the client's send time and the emulator's receipt, so "before" is split
into the parts below. Each stamp costs a wrapper call (about 40 per
request, their total not measured apart); what they time is the same code as deployed, which
is why this wraps rather than edits it.
"""

from __future__ import annotations

import contextvars
import functools
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

_stamps: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "bench_stamps", default=None
)
_WALL_OFFSET = time.time() - time.perf_counter()


def stamp(name: str) -> None:
    """Record when `name` happened in the current request (the first time only)."""
    stamps = _stamps.get()
    if stamps is not None and name not in stamps:
        stamps[name] = time.perf_counter()


def _around(owner: Any, attr: str, label: str) -> None:
    """Stamp `label.start` / `label.end` around the coroutine function `owner.attr`."""
    inner = getattr(owner, attr)

    @functools.wraps(inner)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        stamp(f"{label}.start")
        try:
            return await inner(*args, **kwargs)
        finally:
            stamp(f"{label}.end")

    setattr(owner, attr, wrapper)


def _around_sync(owner: Any, attr: str, label: str) -> None:
    inner = getattr(owner, attr)

    @functools.wraps(inner)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stamp(f"{label}.start")
        try:
            return inner(*args, **kwargs)
        finally:
            stamp(f"{label}.end")

    setattr(owner, attr, wrapper)


def _entered(owner: Any, attr: str, label: str) -> None:
    """Stamp `label` when the ASGI callable `owner.attr` is entered."""
    inner = getattr(owner, attr)

    @functools.wraps(inner)
    async def wrapper(self: Any, scope: Any, receive: Any, send: Any) -> Any:
        if scope.get("type") == "http":
            stamp(label)
        return await inner(self, scope, receive, send)

    setattr(owner, attr, wrapper)


def _patch_protocol() -> None:
    """Stamp the request's first bytes, its complete head and its first body bytes (scope)."""
    from service.http.slow_clients import HeaderTimeoutProtocol

    data_received = HeaderTimeoutProtocol.data_received
    on_headers_complete = HeaderTimeoutProtocol.on_headers_complete
    on_body = HeaderTimeoutProtocol.on_body

    def rx(self: Any, data: bytes) -> None:
        # Only bytes of a head count: a body sent in its own write must not become the next
        # request's first bytes on a kept-alive connection.
        if self._awaiting_head and getattr(self, "_bench_rx", None) is None:
            self._bench_rx = time.perf_counter()
        data_received(self, data)

    def head(self: Any) -> None:
        on_headers_complete(self)
        self.scope["bench"] = {"rx": self._bench_rx, "head": time.perf_counter()}
        self._bench_rx = None

    def body(self: Any, data: bytes) -> None:
        stamps = self.scope.get("bench")
        if stamps is not None:
            stamps.setdefault("body.rx", time.perf_counter())
        on_body(self, data)

    HeaderTimeoutProtocol.data_received = rx  # type: ignore[method-assign]
    HeaderTimeoutProtocol.on_headers_complete = head  # type: ignore[method-assign]
    HeaderTimeoutProtocol.on_body = body  # type: ignore[method-assign,assignment]


def _patch_app(out: str) -> None:
    from fastapi import FastAPI

    call = FastAPI.__call__

    async def traced(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or "bench" not in scope:
            await call(self, scope, receive, send)
            return
        stamps: dict[str, float] = scope["bench"]
        token = _stamps.set(stamps)
        stamp("app")

        async def stamped_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                stamp("response.start")
            elif message.get("body"):
                stamp("response.body")
            await send(message)
            if message.get("body"):
                stamp("response.body.sent")

        try:
            await call(self, scope, receive, stamped_send)
        finally:
            _stamps.reset(token)
            headers = dict(scope["headers"])
            rx = stamps["rx"]
            line = {
                "request_id": headers.get(b"x-request-id", b"").decode("latin-1"),
                "path": scope["path"],
                "rx_wall": rx + _WALL_OFFSET,
                "ms": {k: round((v - rx) * 1000, 4) for k, v in stamps.items()},
            }
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")

    FastAPI.__call__ = traced  # type: ignore[method-assign]


def _patch_stages() -> None:
    import fastapi.routing
    import httpcore._async.connection_pool as pool
    import httpcore._async.http11 as http11
    import httpx
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import Request

    from service import deps
    from service.gateway import core, vllm
    from service.http import middleware, overload

    _entered(middleware.RequestContextMiddleware, "__call__", "mw.context")
    _entered(CORSMiddleware, "__call__", "mw.cors")
    _entered(overload.InFlightLimitMiddleware, "__call__", "mw.inflight")
    _entered(middleware.BodyLimitMiddleware, "__call__", "mw.bodylimit")
    _entered(fastapi.routing.APIRouter, "__call__", "router")
    _around(Request, "body", "body.read")
    _around(Request, "json", "body.json")
    _around(fastapi.routing, "solve_dependencies", "deps")
    _around_sync(deps, "authenticate", "auth")
    _around(deps, "_rate_limit", "ratelimit")
    _around_sync(core.Gateway, "check", "endpoint.check")
    _around_sync(vllm.VllmAdapter, "body", "upstream.body")
    _around(httpx.AsyncClient, "send", "httpx.send")
    _around(pool.AsyncConnectionPool, "handle_async_request", "httpcore.pool")
    _around(http11.AsyncHTTP11Connection, "_send_request_headers", "httpcore.headers")
    _around(http11.AsyncHTTP11Connection, "_send_request_body", "httpcore.body")
    _around(http11.AsyncHTTP11Connection, "_receive_response_headers", "httpcore.response")

    stream = core.Gateway.stream

    async def traced_stream(self: Any, *args: Any, **kwargs: Any) -> Any:
        stamp("gateway.stream.start")
        try:
            return await stream(self, *args, **kwargs)
        finally:
            stamp("gateway.stream.end")

    core.Gateway.stream = traced_stream  # type: ignore[method-assign]

    adapter_stream: Callable[..., AsyncIterator[Any]] = vllm.VllmAdapter.stream

    async def traced_adapter(self: Any, call: Any) -> AsyncIterator[Any]:
        stamp("adapter.start")
        async for chunk in adapter_stream(self, call):
            stamp("adapter.accepted" if chunk.accepted else "adapter.content")
            yield chunk

    vllm.VllmAdapter.stream = traced_adapter  # type: ignore[method-assign]


def main() -> None:
    out = os.environ["BENCH_STAGES_OUT"]
    _patch_protocol()
    _patch_app(out)
    _patch_stages()
    import uvicorn.main

    sys.argv = ["uvicorn", *sys.argv[1:]]
    uvicorn.main.main()


if __name__ == "__main__":
    main()
