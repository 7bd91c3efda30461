"""The stack's TLS material: a throwaway CA and a server certificate for the loopback names.

Generated at every start with trustme so that nothing secret is checked in and every stack has its
own CA; the suite verifies the API against ``ca.pem`` exactly as a client would verify production.
The validity is configurable (even negative) because a self-test needs an expired certificate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import trustme

from service.stack.files import write_private, write_public

SERVER_NAMES = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class TlsFiles:
    """Where the PEM files are and until when the server certificate is valid."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    not_before: dt.datetime
    not_after: dt.datetime


def write_tls(directory: Path, cert_days: int) -> TlsFiles:
    """Create a CA and a server certificate valid for ``cert_days``; write them to ``directory``.

    ``server.pem`` holds the leaf followed by its chain (what uvicorn serves); ``server.key`` is
    mode 0600. With ``cert_days <= 0`` the certificate is already expired, and ``not_before`` is
    moved back so that the certificate is still well-formed.
    """
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    not_after = now + dt.timedelta(days=cert_days)
    not_before = min(now - dt.timedelta(hours=1), not_after - dt.timedelta(days=1))
    ca = trustme.CA(organization_name="preflight local stack")
    leaf = ca.issue_cert(
        *SERVER_NAMES,
        common_name="localhost",
        organization_name="preflight local stack",
        not_before=not_before,
        not_after=not_after,
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_file=directory / "ca.pem",
        cert_file=directory / "server.pem",
        key_file=directory / "server.key",
        not_before=not_before,
        not_after=not_after,
    )
    write_public(files.ca_file, ca.cert_pem.bytes())
    write_public(files.cert_file, b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    write_private(files.key_file, leaf.private_key_pem.bytes())
    return files
