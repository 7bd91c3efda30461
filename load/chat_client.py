"""The chat user's transport: geventhttpclient, each read handed to ``StreamMeter`` at once.

Why not httpx, which the pytest checks use: at 64 streams (3200 SSE reads a second) a Locust
process on httpx spent about 95 µs of CPU per read, a third of it in httpx/httpcore/h11 (py-spy;
bench/README.md), and the greenlets queueing for that CPU showed in every TTFT. geventhttpclient
parses HTTP in C (it is what Locust's FastHttpUser uses), but FastHttpUser's ``iter_content``
waits until ``chunk_size`` bytes are buffered, which would stamp several SSE events with the
time of the last one; ``readline`` returns each line as soon as the read that delivered it is
in, and the clock is read right then.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Callable
from typing import Any

from gevent.monkey import get_original
from geventhttpclient import URL, HTTPClient, HTTPParseError

from load.streaming import CHAT_PATH, StreamMeter, StreamResult, failed_answer

READ_TIMEOUT_S = 300.0  # one read may wait this long: a 300 s stall is a failed stream
CONNECT_TIMEOUT_S = 10.0
# A request id per stream: the target (and the gateway, which forwards it) logs it, so a
# sample can be matched with the provider's own record of the same request.
REQUEST_ID_PREFIX = "locust-"
_select = get_original("select", "select")


class ChatConnection:
    """Keep-alive connections to the target: one for a closed-loop user (one stream in flight),
    ``concurrency`` for the open-loop user's concurrent streams."""

    def __init__(
        self, url: str, headers: dict[str, str], verify: ssl.SSLContext, concurrency: int = 1
    ) -> None:
        def context(**_given: Any) -> ssl.SSLContext:
            # The process-wide context of LoadTarget.verify (CA or system store), not the
            # certifi bundle geventhttpclient would otherwise load for every connection pool.
            return verify

        parsed = URL(url)
        self.prefix = parsed.path.rstrip("/")  # a target mounted below a path
        self.http = HTTPClient.from_url(
            parsed,
            headers=headers,
            concurrency=concurrency,
            connection_timeout=CONNECT_TIMEOUT_S,
            network_timeout=READ_TIMEOUT_S,
            ssl_context_factory=context,
        )
        # geventhttpclient checks a pooled connection with gevent's select(), which yields to
        # the hub even with a zero timeout: the clock would be running while other users
        # read. The same check without the yield (measured: 0.09 -> 0.04 ms p50, 1.9 -> 0.1
        # ms max from clock start to socket in hand at 64 streams).
        pool = self.http._connection_pool
        pool._is_socket_alive = idle_and_open  # type: ignore[method-assign]

    def get(self, path: str) -> tuple[int, bytes]:
        """A whole small answer (warm-up, model list); raises OSError/HTTPParseError."""
        response = self.http.get(self.prefix + path)
        try:
            return response.status_code, response.read()
        finally:
            response.release()

    def stream(self, body: bytes, *, keep_content: bool = False) -> StreamResult:
        return measure_stream_fast(
            self.http, body, path=self.prefix + CHAT_PATH, keep_content=keep_content
        )

    def close(self) -> None:
        self.http.close()


def idle_and_open(sock: Any) -> bool:
    """A kept connection is reusable if it is open and has nothing to read (no FIN, no
    leftover bytes). ``select`` of the standard library, not gevent's: it never yields."""
    if sock is None or sock.fileno() < 0:
        return False
    try:
        readable, _, _ = _select([sock], [], [], 0.0)
    except (OSError, ValueError):
        return False
    return not readable


def measure_stream_fast(
    client: HTTPClient,
    body: bytes,
    *,
    path: str = CHAT_PATH,
    clock: Callable[[], float] = time.perf_counter,
    keep_content: bool = False,
) -> StreamResult:
    """One streaming chat completion (``body``: the encoded JSON request), measured.

    Like :func:`load.streaming.measure_stream`, it never raises for HTTP or transport
    failures. The body is encoded before the clock starts, so only the send is timed.
    ``keep_content`` keeps the answer's text (a multi-turn session sends it back).
    """
    request_id = REQUEST_ID_PREFIX + uuid.uuid4().hex
    headers = {"Content-Type": "application/json", "X-Request-ID": request_id}
    wall, start = time.time(), clock()
    meter = StreamMeter(start, wall, keep_content=keep_content)
    try:
        result = _exchange(client, path, body, headers, meter, clock)
    except (OSError, HTTPParseError) as exc:  # socket, TLS and timeout errors are OSErrors
        result = meter.result(0, clock(), f"{type(exc).__name__}: {exc}")
    result.request_id = result.request_id or request_id
    return result


def _exchange(
    client: HTTPClient,
    path: str,
    body: bytes,
    headers: dict[str, str],
    meter: StreamMeter,
    clock: Callable[[], float],
) -> StreamResult:
    response = client.request("POST", path, body=body, headers=headers)
    try:
        status = response.status_code
        if status != 200:
            return meter.result(status, clock(), failed_answer(status, response.read()))
        while line := response.readline(b"\n"):  # SSE lines end in \n (or \r\n)
            meter.feed(line, clock())
        rest = response.read()  # a last line without a newline, if the server sent one
        end = clock()
        if rest:
            meter.feed(rest, end)
        result = meter.result(status, end)
        result.provider = _header(response, "x-provider")
        result.request_id = _header(response, "x-request-id")
        return result
    finally:
        # Back to the pool; one left with unread bytes fails idle_and_open at its next use.
        response.release()


def _header(response: Any, name: str) -> str | None:
    value = response.get(name)
    return value if isinstance(value, str) or value is None else ", ".join(value)
