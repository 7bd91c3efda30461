"""The header deadline closes slow-header (slowloris) connections and spares normal ones; the
head size cap refuses oversized request heads."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from service.http.slow_clients import DEFAULT_MAX_HEAD_BYTES, HeaderTimeoutProtocol
from service.waiting import poll_until


class QuickDeadline(HeaderTimeoutProtocol):
    header_timeout_s = 0.3


# Well above the header deadline: an idle kept-alive connection outlives the deadline.
KEEP_ALIVE_S = 5


async def app(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] in ("http", "lifespan")
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]  # ASGI callables
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]  # as above


@pytest.fixture
def port() -> Iterator[int]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=QuickDeadline,
        lifespan="off",
        log_config=None,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    poll_until(
        lambda: server.started,
        timeout=10,
        interval=0.01,
        message="uvicorn to start",
        abort=lambda: None if thread.is_alive() else "its thread ended",
    )
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_slow_headers_closed(port: int) -> None:
    """Partial headers past the deadline: the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert sock.recv(1024) == b""  # blocks until the server closes
        assert time.monotonic() - started < 3


def test_complete_request_answered_and_kept_alive(port: int) -> None:
    """A request whose headers arrive in time is answered; the deadline re-arms for the next."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")


def test_oversized_head_refused(port: int) -> None:
    """A request head over the cap is answered 400 and the connection closed; one under it is
    served."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8000 + b"\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        pad = b"a" * (DEFAULT_MAX_HEAD_BYTES + 1)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + pad + b"\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")


def test_idle_kept_alive_connection_outlives_the_header_deadline(port: int) -> None:
    """Idle between requests is the keep-alive timeout's business (an ingress keeps such
    connections): a request sent after the header deadline has passed is still answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        sock.settimeout(3 * QuickDeadline.header_timeout_s)
        with pytest.raises(TimeoutError):  # the server neither closes nor sends meanwhile
            sock.recv(1024)
        sock.settimeout(5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")


def test_slow_second_request_closed(port: int) -> None:
    """On a kept-alive connection, a later request's headers get the deadline from its first
    byte: trickled past it, the connection is closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert sock.recv(1024) == b""
        assert time.monotonic() - started < 3
