"""A test alert through a real Alertmanager: a loopback webhook receiver, a bounded Alertmanager
process, and the alert posted to its API.

"The configuration is valid" is not "notifications arrive": only an alert that went through
Alertmanager's routing to a receiver shows the channel works. The receiver is the suite's own,
on loopback, so no pager rings during a release check.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from acceptance.waiting import poll_until

TEST_ALERT = "PreflightTestAlert"


class _Inbox(ThreadingHTTPServer):
    """The receiver's server; ``received`` holds (path, body) of every POST."""

    received: list[tuple[str, dict[str, Any]]]


class _Handler(BaseHTTPRequestHandler):
    server: _Inbox

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        self.server.received.append((self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        """Silence: the suite's output is its reports, not an access log."""


@contextmanager
def loopback_receiver() -> Iterator[_Inbox]:
    """A webhook receiver on 127.0.0.1 (``server_address`` holds its port)."""
    server = _Inbox(("127.0.0.1", 0), _Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_alertmanager(
    binary: str, config: dict[str, Any], workdir: Path, timeout_s: float
) -> Iterator[str]:
    """Alertmanager on a loopback port with ``config``, clustering off; yields its URL and is
    stopped on exit. Not ready within ``timeout_s``: AssertionError with its log."""
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = _free_port()
    log = (workdir / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        poll_until(
            lambda: process.poll() is not None or _ready(url),
            timeout=timeout_s,
            message=f"Alertmanager not ready at {url}",
        )
        assert process.poll() is None, (
            f"Alertmanager exited: {(workdir / 'alertmanager.log').read_text()[-1500:]}"
        )
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def post_test_alert(url: str, labels: dict[str, str], timeout_s: float) -> None:
    """Post one alert that resolves itself after five minutes (no stale test alert remains)."""
    now = dt.datetime.now(dt.UTC)
    alert = {
        "labels": {"alertname": TEST_ALERT, **labels},
        "annotations": {"summary": "preflight release check: test notification, ignore"},
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(minutes=5)).isoformat(),
    }
    answer = httpx.post(f"{url.rstrip('/')}/api/v2/alerts", json=[alert], timeout=timeout_s)
    assert answer.status_code == 200, f"POST /api/v2/alerts: {answer.status_code} {answer.text}"


def routed_receivers(url: str, timeout_s: float) -> list[str]:
    """Receivers Alertmanager reports for the active test alert (empty: not there)."""
    answer = httpx.get(
        f"{url.rstrip('/')}/api/v2/alerts",
        params={"filter": f'alertname="{TEST_ALERT}"'},
        timeout=timeout_s,
    )
    assert answer.status_code == 200, f"GET /api/v2/alerts: {answer.status_code}"
    return sorted({str(r.get("name")) for a in answer.json() for r in a.get("receivers", [])})
