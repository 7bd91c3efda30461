"""Configuration: the served certificate verifies, matches the host and is far from expiry."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig


def handshake(target: Target, timeout: float) -> tuple[dict[str, object], str]:
    """A verified TLS handshake with the target: its certificate and the negotiated version."""
    parts = urlsplit(target.url)
    assert parts.scheme == "https", f"target is not served over TLS: {target.url}"
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context(cafile=target.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        cert = tls.getpeercert()
        version = tls.version()
    assert cert and version, "no certificate or TLS version from the handshake"
    return dict(cert), version


@pytest.mark.checklist("config.tls")
def test_certificate_valid_and_not_expiring(
    target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Chain and hostname verify (else the handshake fails), TLS >= 1.2, expiry far off."""
    try:
        cert, version = handshake(target, config.http_timeout_s)
    except ssl.SSLCertVerificationError as error:
        evidence.add(verify_error=error.verify_message)
        pytest.fail(f"certificate does not verify: {error.verify_message}")
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    days_left = (not_after - datetime.now(UTC)).total_seconds() / 86400
    evidence.add(
        tls_version=version,
        not_after=not_after.isoformat(),
        days_to_expiry=round(days_left, 1),
        min_days=config.tls_min_days_to_expiry,
        ca_file=target.ca_file or "system trust store",
    )
    assert version in ("TLSv1.2", "TLSv1.3"), f"negotiated {version}"
    assert days_left >= config.tls_min_days_to_expiry, (
        f"certificate expires in {days_left:.1f} days (< {config.tls_min_days_to_expiry})"
    )
