"""Operational Security: the platform's outbound calls reach approved destinations only.

Every forbidden destination (127.0.0.1, ::1, the cloud metadata service, a private address) is
tried through the platform's real ingestion path, ``POST /admin/ingest/fetch`` (a ``fetch_page``
job a worker runs: robots.txt first, then the page), once directly and once as the target of a
redirect from an allowlisted site (``[ingestion] egress_redirect_url``; the reference stack's
robots site has an open ``/redirect``), whose hops are counted by the site's own log or the
platform's record (``acceptance/support/outbound_record.py``).
Canary listeners on this machine's 127.0.0.1 and ::1, which are the reference stack's loopback,
count every connection: the ground truth that each refusal happened before the network. Names
that resolve to loopback go through ``POST /admin/egress/probe``, the same outbound client.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import admin_settings, get_json
from acceptance.support.ingestion import requests_of
from acceptance.support.outbound_record import redirector
from service.waiting import poll_until


class _Canary(http.server.BaseHTTPRequestHandler):
    connections: ClassVar[list[str]] = []

    def setup(self) -> None:  # every accepted connection, whether or not a request follows
        super().setup()
        self.connections.append(str(self.client_address[0]))

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"reached")

    def log_message(self, format: str, *args: object) -> None:
        return


class _V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextmanager
def _canary(host: str) -> Iterator[tuple[int, list[str]] | None]:
    """A listener on ``host`` port 0 recording connections; None where ``host`` cannot be bound."""
    connections: list[str] = []
    handler = type("Canary", (_Canary,), {"connections": connections})
    server_class = _V6Server if ":" in host else http.server.ThreadingHTTPServer
    try:
        server = server_class((host, 0), handler)
    except OSError:
        yield None
        return
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), connections
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def canaries() -> Iterator[dict[str, tuple[int, list[str]] | None]]:
    with ExitStack() as stack:
        yield {
            "127.0.0.1": stack.enter_context(_canary("127.0.0.1")),
            "::1": stack.enter_context(_canary("::1")),
        }


def _ended(admin_client: httpx.Client, job_id: str, timeout: float) -> dict[str, Any]:
    """The job once its first attempt is over (a refusal ends it; anything else is judged on
    that attempt too, so a reachable destination cannot stall the check in retries)."""

    def done() -> dict[str, Any] | None:
        record = get_json(admin_client, f"/status/{job_id}")
        return record if record["status"] in ("succeeded", "dead", "failed") else None

    return poll_until(done, timeout=timeout, interval=0.1, message=f"job {job_id} to run")


def _refused(record: dict[str, Any]) -> bool:
    return record["status"] == "succeeded" and bool((record.get("result") or {}).get("refused"))


def _outcome(url: str, record: dict[str, Any]) -> dict[str, Any]:
    result = record.get("result") or {}
    why = result.get("refused") or record.get("error") or json.dumps(result)
    return {"url": url, "status": record["status"], "refused": _refused(record), "why": why[:160]}


@pytest.mark.checklist("opsec.egress")
def test_private_destinations_refused(
    admin_client: httpx.Client,
    target: Target,
    canaries: dict[str, tuple[int, list[str]] | None],
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """127.0.0.1, ::1, metadata and private URLs, directly and behind an allowlisted redirect,
    are refused by the ingestion path, and the canaries on loopback see no connection."""
    settings = admin_settings(admin_client)
    allowlist = settings.get("egress_allowlist") or []
    port4, port6 = (c[0] if c else 80 for c in (canaries["127.0.0.1"], canaries["::1"]))
    stamp = time.time_ns()
    direct = {
        "loopback": f"http://127.0.0.1:{port4}/egress-canary-{stamp}",
        "ipv6-loopback": f"http://[::1]:{port6}/egress-canary-{stamp}",
        "metadata": config.ingestion.egress_metadata_url,
        "private": config.ingestion.egress_private_url,
    }
    redirect = redirector(target, config, admin_client)
    cases = dict(direct)
    if redirect is not None:
        cases |= {
            f"redirect-to-{name}": redirect[0].replace("{url}", quote(url, safe=""))
            for name, url in direct.items()
        }
    started = time.time()
    jobs = {}
    for name, url in cases.items():
        response = admin_client.post("/admin/ingest/fetch", json={"url": url})
        assert response.status_code == 202, f"fetch {name}: {response.status_code} {response.text}"
        jobs[name] = response.json()["job_id"]
    timeout = config.ingestion.ingest_timeout_s
    records = {name: _ended(admin_client, job_id, timeout) for name, job_id in jobs.items()}
    probes = {}
    # Names that resolve to loopback: "localhost", and 127.0.0.1 written as one decimal number.
    for url in (f"http://localhost:{port4}/", f"http://2130706433:{port4}/"):
        response = admin_client.post("/admin/egress/probe", json={"url": url})
        assert response.status_code == 200, f"probe route: {response.status_code} {response.text}"
        probes[url] = response.json().get("outcome", "?")
    hops = None
    if redirect is not None:
        path = urlsplit(redirect[0]).path
        hops = len([r for r in requests_of(redirect[1], since=started) if r["path"] == path])
    on_loopback = target.stack is not None
    hits = {host: (len(c[1]) if c else None) for host, c in canaries.items()}
    evidence.add(
        cases={n: _outcome(cases[n], r) for n, r in records.items()},
        probes=probes,
        canary_connections=hits if on_loopback else None,
        redirector_requests=hops,
        egress_allowlist=allowlist,
        egress_allow_private=settings.get("egress_allow_private"),
    )
    not_refused = {
        n: f"{r['status']}: {r.get('error') or r.get('result')}"
        for n, r in records.items()
        if not _refused(r)
    }
    assert not not_refused, f"not refused by egress: {not_refused}"
    assert all(o == "refused" for o in probes.values()), f"probes not refused: {probes}"
    if on_loopback:
        reached = {h: n for h, n in hits.items() if n}
        assert not reached, f"the loopback canaries saw connections: {reached}"
    assert "*" not in allowlist, "the egress allowlist holds '*': every public host is approved"
    if redirect is None:
        not_verified(
            "redirects not exercised: no allowlisted redirector "
            "(set [ingestion] egress_redirect_url)"
        )
    assert hops is not None and hops >= len(direct), (
        f"the redirector served {hops} of {len(direct)} redirects: the hops were not exercised"
    )
