"""The floor for `python -m bench.gateway overhead`: the least a Python streaming proxy can do.

Raw ASGI on uvicorn (httptools) forwarding the body to the provider with httpx and passing its
bytes back as they arrive: no auth, rate limit, validation, middleware, logs or metrics, no
translation. What it adds to time to first token is the cost of one more HTTP hop in Python on
the machine; the gateway's figure above it is the cost of everything the gateway does.

    BENCH_UPSTREAM=http://127.0.0.1:8000 uvicorn bench.bare_proxy:app --port 9000
"""

from __future__ import annotations

import os
from typing import Any

import httpx

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8000")  # bench-only process
_client: list[httpx.AsyncClient] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            _client.append(httpx.AsyncClient(timeout=60))
            await send({"type": "lifespan.startup.complete"})
        await _client[0].aclose()
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {"content-type": "application/json"}
    for name, value in scope["headers"]:
        if name == b"x-request-id":  # the benchmark matches the provider's log by it
            headers["x-request-id"] = value.decode("latin-1")
    async with _client[0].stream(
        "POST", UPSTREAM + scope["path"], content=body, headers=headers
    ) as upstream:
        await send(
            {
                "type": "http.response.start",
                "status": upstream.status_code,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        async for piece in upstream.aiter_raw():
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
