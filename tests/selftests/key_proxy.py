"""A misconfigured ingress for a self-test: it forwards everything to the API and adds the
ordinary key to requests that came without one (an edge that "authenticates to the backend" with a
service credential). Behind it every secured operation answers without a key, which is what
auth.protected-endpoints must catch.

    PROXY_UPSTREAM=https://127.0.0.1:8443 PROXY_CA_FILE=ca.pem PROXY_KEY=... \\
        uvicorn tests.selftests.key_proxy:app --ssl-keyfile ... --ssl-certfile ...

Raw ASGI and whole bodies (no streaming): the check sends small requests and reads small answers.
The key comes from the environment of this test-only process, never from its arguments.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import httpx

UPSTREAM = os.environ.get("PROXY_UPSTREAM", "")
_HOP_BY_HOP = {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"content-length"}
_client: list[httpx.AsyncClient] = []


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            context = ssl.create_default_context(cafile=os.environ["PROXY_CA_FILE"])
            _client.append(httpx.AsyncClient(base_url=UPSTREAM, verify=context, timeout=30))
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await _client[0].aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
    if not any(k.lower() in (b"authorization", b"x-api-key") for k, _ in headers):
        headers.append((b"authorization", b"Bearer " + os.environ["PROXY_KEY"].encode()))
    url = scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
    answer = await _client[0].request(scope["method"], url, headers=headers, content=body)
    out = [
        (k.encode(), v.encode())
        for k, v in answer.headers.items()
        if k.encode() not in _HOP_BY_HOP and k != "content-encoding"
    ]
    await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
    await send({"type": "http.response.body", "body": answer.content})
