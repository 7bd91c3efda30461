"""Data Protection: only TLS 1.2+ with strong ciphers is served, HSTS is sent, no plain HTTP.

Old protocol versions and weak ciphers are offered by a client context that allows nothing
else (``@SECLEVEL=0`` so the local OpenSSL will offer them at all): a handshake that succeeds
proves the server accepts them. A cipher the local OpenSSL cannot even offer is reported as
"not offerable", not as refused by the server.
"""

from __future__ import annotations

import socket
import ssl
import warnings
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.api import admin_settings
from acceptance.support.endpoints import endpoint_urls, plain_http

WEAK_CIPHERS = ("NULL", "EXPORT", "aNULL", "RC4", "DES", "3DES", "MD5")
OLD_VERSIONS = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)  # probed, never used


def _address(target: Target) -> tuple[str, int]:
    parts = urlsplit(target.url)
    assert parts.scheme == "https", f"target is not served over TLS: {target.url}"
    return parts.hostname or "", parts.port or 443


def _handshake(target: Target, context: ssl.SSLContext, timeout: float) -> str | None:
    """The negotiated protocol, or None when the handshake failed."""
    host, port = _address(target)
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return tls.version()
    except (ssl.SSLError, OSError):
        return None


def _permissive() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only the protocol is under test here
    return context


def old_versions_accepted(target: Target, timeout: float) -> dict[str, str | None]:
    """Each pre-1.2 version: the protocol negotiated when only it is offered (None: refused)."""
    out: dict[str, str | None] = {}
    for version in OLD_VERSIONS:
        context = _permissive()
        with warnings.catch_warnings():
            # Offering deprecated versions is the point of this probe.
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = version
            context.maximum_version = version
        context.set_ciphers("ALL:@SECLEVEL=0")
        out[version.name] = _handshake(target, context, timeout)
    return out


def weak_ciphers_accepted(target: Target, timeout: float) -> dict[str, str]:
    """Each weak cipher family: "refused", "accepted (...)" or "not offerable" locally."""
    out: dict[str, str] = {}
    for cipher in WEAK_CIPHERS:
        context = _permissive()
        context.maximum_version = ssl.TLSVersion.TLSv1_2  # 1.3 suites cannot be weakened
        try:
            context.set_ciphers(f"{cipher}:@SECLEVEL=0")
        except ssl.SSLError:
            out[cipher] = "not offerable"
            continue
        negotiated = _handshake(target, context, timeout)
        out[cipher] = "refused" if negotiated is None else f"accepted ({negotiated})"
    return out


def plain_http_answer(target: Target, timeout: float) -> str:
    """What the HTTPS port says to a plain-HTTP request: its status line, or how it refused."""
    host, port = _address(target)
    request = f"GET /health/live HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            raw.sendall(request)
            first = raw.recv(4096)
    except OSError as error:
        return f"refused ({type(error).__name__})"
    if not first:
        return "refused (closed)"
    line = first.split(b"\r\n", 1)[0]
    return line.decode("latin-1") if line.startswith(b"HTTP/") else "refused (not HTTP)"


@pytest.mark.checklist("protection.tls")
def test_transport_encrypted(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """No plain HTTP, HSTS long enough, TLS < 1.2 and weak ciphers refused."""
    timeout = config.http_timeout_s
    plain = plain_http_answer(target, timeout)
    hsts = anon_client.get("/health/live").headers.get("strict-transport-security", "")
    max_age = next(
        (int(p.split("=", 1)[1]) for p in hsts.split(";") if p.strip().startswith("max-age=")), 0
    )
    old = old_versions_accepted(target, timeout)
    weak = weak_ciphers_accepted(target, timeout)
    evidence.add(plain_http=plain, hsts=hsts, old_versions=old, weak_ciphers=weak)
    served_plain = plain.startswith("HTTP/") and not plain.split(" ")[1].startswith("3")
    assert not served_plain, f"plain HTTP answered: {plain}"
    assert max_age >= config.observability.hsts_min_max_age_s, (
        f"HSTS {hsts!r}: max-age below {config.observability.hsts_min_max_age_s}"
    )
    accepted_old = {v: p for v, p in old.items() if p is not None}
    assert not accepted_old, f"pre-1.2 TLS accepted: {accepted_old}"
    accepted_weak = {c: r for c, r in weak.items() if r.startswith("accepted")}
    assert not accepted_weak, f"weak ciphers accepted: {accepted_weak}"


@pytest.mark.checklist("protection.tls")
def test_external_endpoints_https(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Outside environments that allow it, provider, ingestion and webhook URLs are https."""
    settings: dict[str, Any] = admin_settings(admin_client)
    environment = str(settings.get("environment"))
    expected = config.environments.get(environment)
    urls = endpoint_urls(settings)
    insecure = plain_http(urls)
    required = expected.https_endpoints if expected is not None else True
    evidence.add(environment=environment, https_required=required, endpoints=urls)
    if required:
        assert not insecure, f"plain-http endpoints in {environment}: {insecure}"
