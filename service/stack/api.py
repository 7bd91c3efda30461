"""The API processes (uvicorn) and the probes the stack uses to call them ready.

Without an ingress the API serves HTTPS itself and readiness is judged the way a client would:
over HTTPS, verified against the stack's own CA. Behind the ingress (``service/stack/ingress.py``)
each API process serves plain HTTP on its own loopback port, as a pod behind a load balancer does,
and trusts ``X-Forwarded-For``/``X-Forwarded-Proto`` from the ingress's address only.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from service.stack.environment import PYTHON
from service.stack.processes import ManagedProcess, launch_on_free_port
from service.stack.tls import TlsFiles

PROBE_TIMEOUT_S = 2.0
# An idle kept-alive connection is closed after this; an ingress must keep its own upstream
# keep-alive below it (service/stack/ingress_config.py) so it never reuses a closed one.
KEEP_ALIVE_S = 5
# OpenSSL's flag (not exported by the ssl module) to verify a chain without its validity period.
X509_V_FLAG_NO_CHECK_TIME = 0x200000


def uvicorn_argv(port: int, tls: TlsFiles | None, *, trusted_proxy: str | None = None) -> list[str]:
    """The uvicorn command line: production-like limits, no server header, no access log
    (uvicorn's: the middleware writes one). Without `tls` plain HTTP (behind the ingress, and
    the benchmarks). `trusted_proxy`: the one address whose X-Forwarded-* headers set the
    client's address and scheme; None: no proxy headers are read (uvicorn would otherwise trust
    127.0.0.1, i.e. every local client)."""
    ssl = (
        []
        if tls is None
        else ["--ssl-keyfile", str(tls.key_file), "--ssl-certfile", str(tls.cert_file)]
    )
    proxy = (
        ["--no-proxy-headers"]
        if trusted_proxy is None
        else ["--proxy-headers", "--forwarded-allow-ips", trusted_proxy]
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
        *proxy,
        "--no-access-log",
        "--no-server-header",
        "--http",
        "service.http.slow_clients:HeaderTimeoutProtocol",
        "--timeout-keep-alive",
        str(KEEP_ALIVE_S),
        "--timeout-graceful-shutdown",
        "5",
        "--limit-concurrency",
        "1000",
        "--h11-max-incomplete-event-size",
        "16384",  # the request head cap, also for httptools
    ]


def launch(
    http: httpx.Client,
    name: str,
    tls: TlsFiles | None,
    env: Mapping[str, str],
    log_path: Path,
    cwd: Path,
    timeout: float,
    *,
    trusted_proxy: str | None = None,
) -> tuple[ManagedProcess, str]:
    """Start uvicorn on a free port; return once ``/health/live`` answers (over HTTPS with
    ``tls``, else plain HTTP) and the process's own URL."""
    scheme = "https" if tls is not None else "http"
    argv = functools.partial(uvicorn_argv, tls=tls, trusted_proxy=trusted_proxy)
    proc, port = launch_on_free_port(
        lambda p: ManagedProcess(name, argv(p), env=env, log_path=log_path, cwd=cwd),
        lambda p: live(http, api_url(p, scheme)),
        timeout=timeout,
        what=f"{name} (GET /health/live over {scheme.upper()})",
    )
    return proc, api_url(port, scheme)


def api_url(port: int, scheme: str = "https") -> str:
    return f"{scheme}://127.0.0.1:{port}"


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
