"""Operational Security: the platform's outbound client refuses off-allowlist destinations.

The check asks the platform itself (``POST /admin/egress/probe``) to fetch loopback, IPv6
loopback, cloud-metadata and private addresses. Against a reference stack it also starts a small
listener on this machine's loopback (which is the target's loopback) and asserts it saw nothing:
the ground truth that a refusal happened before the network.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest

from acceptance.fixtures import Evidence
from acceptance.target import Target


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"reached")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.checklist("opsec.egress")
def test_private_destinations_refused(
    admin_client: httpx.Client,
    target: Target,
    listener: tuple[int, list[str]],
    evidence: Evidence,
) -> None:
    """Loopback, ::1, metadata and private URLs are refused and the listener sees no request."""
    port, hits = listener
    urls = [
        f"http://127.0.0.1:{port}/egress-probe",
        f"http://localhost:{port}/egress-probe",
        f"http://[::1]:{port}/egress-probe",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        f"http://2130706433:{port}/egress-probe",
    ]
    outcomes: dict[str, str] = {}
    for url in urls:
        response = admin_client.post("/admin/egress/probe", json={"url": url})
        assert response.status_code == 200, (
            f"probe route: {response.status_code} {response.text[:200]}"
        )
        outcomes[url] = response.json().get("outcome", "?")
    evidence.add(outcomes=outcomes, listener_hits=len(hits) if target.stack else None)
    not_refused = {u: o for u, o in outcomes.items() if o != "refused"}
    assert not not_refused, f"not refused: {not_refused}"
    if target.stack is not None:
        assert not hits, f"the loopback listener received {len(hits)} request(s): {hits}"
