"""The API process (uvicorn over HTTPS) and the probes the stack uses to call it ready.

Readiness is judged the way a client would: over HTTPS, verified against the stack's own CA.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from service.stack.environment import PYTHON
from service.stack.processes import ManagedProcess, launch_on_free_port
from service.stack.tls import TlsFiles

PROBE_TIMEOUT_S = 2.0
# OpenSSL's flag (not exported by the ssl module) to verify a chain without its validity period.
X509_V_FLAG_NO_CHECK_TIME = 0x200000


def uvicorn_argv(port: int, tls: TlsFiles | None) -> list[str]:
    """The uvicorn command line: production-like limits, no server header, no access log
    (uvicorn's: the middleware writes one). Without `tls` plain HTTP (the benchmarks)."""
    ssl = (
        []
        if tls is None
        else ["--ssl-keyfile", str(tls.key_file), "--ssl-certfile", str(tls.cert_file)]
    )
    return [
        PYTHON,
        "-m",
        "uvicorn",
        "service.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *ssl,
        "--no-access-log",
        "--no-server-header",
        "--http",
        "service.http.slow_clients:HeaderTimeoutProtocol",
        "--timeout-keep-alive",
        "5",
        "--timeout-graceful-shutdown",
        "5",
        "--limit-concurrency",
        "1000",
        "--h11-max-incomplete-event-size",
        "16384",  # the request head cap, also for httptools
    ]


def launch(
    http: httpx.Client,
    tls: TlsFiles,
    env: Mapping[str, str],
    log_path: Path,
    cwd: Path,
    timeout: float,
) -> tuple[ManagedProcess, str]:
    """Start uvicorn on a free port; return once ``/health/live`` answers over HTTPS."""
    proc, port = launch_on_free_port(
        lambda p: ManagedProcess("api", uvicorn_argv(p, tls), env=env, log_path=log_path, cwd=cwd),
        lambda p: live(http, api_url(p)),
        timeout=timeout,
        what="the API (GET /health/live over HTTPS)",
    )
    return proc, api_url(port)


def api_url(port: int) -> str:
    return f"https://127.0.0.1:{port}"


def client(ca_file: Path, *, ignore_expiry: bool = False) -> httpx.Client:
    """An HTTPS client trusting only the stack's CA.

    ``ignore_expiry`` is for the expired-certificate self-test stack: chain and host name are
    still verified against the CA, only the validity period is not.
    """
    context = ssl.create_default_context(cafile=str(ca_file))
    if ignore_expiry:
        context.verify_flags |= X509_V_FLAG_NO_CHECK_TIME
    return httpx.Client(verify=context, timeout=PROBE_TIMEOUT_S)


def live(http: httpx.Client, url: str) -> bool:
    """Whether ``GET /health/live`` answers 200."""
    try:
        return http.get(f"{url}/health/live").status_code == 200
    except httpx.HTTPError:
        return False


def health(http: httpx.Client, url: str) -> dict[str, Any] | None:
    """The ``GET /health`` body, or None when it cannot be had."""
    try:
        response = http.get(f"{url}/health")
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def workers_alive(body: dict[str, Any] | None) -> int:
    """``components.workers.alive`` of a ``/health`` body (0 when absent)."""
    if body is None:
        return 0
    workers = body.get("components", {}).get("workers", {})
    alive = workers.get("alive", 0) if isinstance(workers, dict) else 0
    return alive if isinstance(alive, int) else 0
