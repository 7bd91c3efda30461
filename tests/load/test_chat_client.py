"""load/chat_client.py: the chat user's geventhttpclient transport measures like the httpx one.

Both feed ``StreamMeter``; these tests hold the transport to the same figures and failure
handling against the vLLM emulator, check that a sample can be matched with the emulator's
record (X-Request-ID), that a stale kept connection is detected, and that TLS verification uses
the given CA only. gevent sockets work here without monkey-patching (one greenlet, the hub runs
when a socket waits); Locust itself stays a subprocess (tests/load/test_locust_runs.py).
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import gevent.ssl
import httpx
import pytest
import trustme

from load.chat_client import ChatConnection, idle_and_open
from load.streaming import chat_body, measure_stream
from tests.support.emulators import LOAD_MODEL, Emulator

pytestmark = pytest.mark.timeout(60)


def body(max_tokens: int) -> bytes:
    return json.dumps(chat_body(LOAD_MODEL, max_tokens)).encode()


@contextlib.contextmanager
def connection(url: str, verify: ssl.SSLContext | None = None) -> Iterator[ChatConnection]:
    chat = ChatConnection(url, {}, verify or gevent.ssl.create_default_context())
    try:
        yield chat
    finally:
        chat.close()


def test_same_figures_as_the_httpx_measurement(vllm_emulator: Emulator) -> None:
    """Role chunk not a token, usage count, TTFT >= the emulator's own, ITL list: as httpx."""
    with connection(vllm_emulator.url) as chat:
        assert chat.get("/v1/models")[0] == 200  # pre-warm, as the user does
        fast = chat.stream(body(20))
    with httpx.Client(base_url=vllm_emulator.url, timeout=30.0) as client:
        client.get("/v1/models")
        reference = measure_stream(client, chat_body(LOAD_MODEL, 20))
    for result in (fast, reference):
        assert result.ok and result.status == 200 and result.finish_reason == "length"
        assert result.content_deltas == 20 and result.output_tokens == 20
        assert result.tokens_source == "usage" and len(result.itl_ms) == 19
        assert result.ttft_ms is not None and 100 <= result.ttft_ms < 100 + 80
        assert result.decode_tokens_per_s is not None and 70 <= result.decode_tokens_per_s <= 130
    records = vllm_emulator.requests("/v1/chat/completions")
    record = next(r for r in records if r["request_id"] == fast.request_id)
    assert fast.ttft_ms is not None and fast.ttft_ms >= record["first_byte_ms"]  # sent before
    # What bench/load_accuracy.py takes as the emulator's truth besides ttft_ms: when its last
    # chunk was written (and how long its parsed request waited for the event loop).
    assert record["queued_ms"] >= 0 and record["last_token_ms"] > record["ttft_ms"]
    assert record["headers"]["content-type"] == "application/json"


def test_connection_is_kept_between_streams(vllm_emulator: Emulator) -> None:
    """Closed loop over one connection: the pre-warmed one serves every stream."""
    with connection(vllm_emulator.url) as chat:
        chat.get("/v1/models")
        results = [chat.stream(body(3)) for _ in range(3)]
    assert all(r.ok for r in results)
    clients = {r["client"] for r in vllm_emulator.requests()}
    assert len(clients) == 1, clients


def test_failures_become_results(vllm_emulator: Emulator) -> None:
    """An error event inside a 200, a 404 with the provider's message, a refused connection."""
    vllm_emulator.configure(error_mid_stream=True, error_after_tokens=3)
    with connection(vllm_emulator.url) as chat:
        mid = chat.stream(body(20))
        missing = chat.stream(json.dumps(chat_body("no/such-model", 5)).encode())
        after = chat.stream(body(2))  # the connection is still usable
    assert mid.status == 200 and not mid.ok and "Emulated error" in (mid.error or "")
    assert mid.content_deltas == 3
    assert missing.status == 404 and "does not exist" in (missing.error or "")
    assert not after.ok and after.status == 200  # the fault is still configured
    with connection("http://127.0.0.1:9") as dead:
        refused = dead.stream(body(5))
    assert refused.status == 0 and not refused.ok and refused.request_id is not None
    assert "ConnectionRefusedError" in (refused.error or "")


def test_idle_and_open() -> None:
    """A kept connection with a FIN or unread bytes waiting is not reused; it replaces the
    pool's own check (which must still exist under that name, or the yield is back)."""
    with connection("http://127.0.0.1:9") as chat:
        pool = chat.http._connection_pool
        assert hasattr(type(pool), "_is_socket_alive") and pool._is_socket_alive is idle_and_open
    mine, theirs = socket.socketpair()
    with mine, theirs:
        assert idle_and_open(mine)
        theirs.sendall(b"stale")
        assert not idle_and_open(mine)
        mine.recv(16)
        theirs.close()
        assert not idle_and_open(mine)
    assert not idle_and_open(None)


SSE = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n'


class _Sse(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(SSE)))
        self.end_headers()
        self.wfile.write(SSE)

    def log_message(self, format: str, *args: object) -> None:  # silence the per-request log
        del format, args


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A TLS server with a certificate for 127.0.0.1 from a throwaway CA."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sse)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", ca_file
    finally:
        server.shutdown()
        server.server_close()


def test_tls_verified_with_the_given_ca_only(tls_server: tuple[str, Path]) -> None:
    """The stack's CA verifies the target; without it (system store) the handshake fails."""
    url, ca_file = tls_server
    with connection(url, gevent.ssl.create_default_context(cafile=str(ca_file))) as chat:
        result = chat.stream(body(1))
    assert result.ok and result.content_deltas == 1, result.error
    with connection(url) as unverified:
        refused = unverified.stream(body(1))
    assert refused.status == 0 and "CERTIFICATE_VERIFY_FAILED" in (refused.error or "")
