"""A loopback webhook receiver for Alertmanager notifications: no pager rings from a test.

Alertmanager's webhook integration POSTs one JSON document per notification. The stack's
Alertmanager and the suite's bounded one (``alerting.channels``) both send every webhook here
instead of to the paging and chat bridges of production (``monitoring_config.loopback_copy``), so
a notification that went through the real routing tree is observable. The stack's receiver also
appends each notification to a JSON-lines file: the ground truth that the Watchdog got through.

Hand-written on the standard library's HTTP server because it is a few lines, starts in
milliseconds inside the process that needs it, and must answer nothing but 200 to a POST.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

# A notification of a large alert group is a few kB; anything far bigger is not Alertmanager.
MAX_BODY_BYTES = 1_048_576


class Inbox(ThreadingHTTPServer):
    """The receiver's server: ``received`` holds (path, body) of every POST, oldest first."""

    daemon_threads = True
    received: list[tuple[str, dict[str, Any]]]
    record: IO[str] | None
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    server: Inbox

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.send_error(413 if length > MAX_BODY_BYTES else 400)
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        with self.server.lock:
            self.server.received.append((self.path, body))
            if self.server.record is not None:
                line = {"time": time.time(), "path": self.path, "body": body}
                self.server.record.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        """Silence: what arrived is in ``received`` and the record file, not on stderr."""


class AlertReceiver:
    """The receiver on 127.0.0.1 in a thread of this process; ``start()`` then ``stop()``."""

    def __init__(self, record: Path | None = None) -> None:
        self.inbox = Inbox(("127.0.0.1", 0), _Handler)
        self.inbox.received = []
        self.inbox.lock = threading.Lock()
        # Line-buffered: a reader of the file sees each notification as soon as it arrived.
        self.inbox.record = record.open("a", encoding="utf-8", buffering=1) if record else None
        self._thread = threading.Thread(
            target=self.inbox.serve_forever, name="alert-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL; Alertmanager posts to ``<url>/<receiver name>``."""
        return f"http://127.0.0.1:{self.inbox.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.inbox.shutdown()
            self._thread.join(timeout=5)
        self.inbox.server_close()
        if self.inbox.record is not None:
            self.inbox.record.close()
            self.inbox.record = None


@contextmanager
def loopback_receiver(record: Path | None = None) -> Iterator[Inbox]:
    """A running receiver for the block (``server_address`` holds its port)."""
    receiver = AlertReceiver(record)
    receiver.start()
    try:
        yield receiver.inbox
    finally:
        receiver.stop()
