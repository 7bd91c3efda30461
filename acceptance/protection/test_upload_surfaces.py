"""Data Protection: every refusal of the upload route, not one representative of each.

test_upload_limits sends one deflate bomb (a single stream) and one archive of each common
magic. The upload route has more ways in: the inflated-size budget is the sum over a PDF's
streams (a bomb split into streams each under the limit), a tar archive is recognised by its
header at offset 257 rather than a leading magic, and text with NUL bytes is binary however
few other control characters it has. Each must be refused; a real PDF must still be accepted
(a route that refuses everything passes the other cases).
"""

from __future__ import annotations

import io
import tarfile
import zlib

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.support.documents_api import upload

SPLIT_STREAMS = 8
STREAM_INFLATED = 8 * 1024 * 1024  # 8 streams of 8 MiB: 64 MiB in all, as the single bomb


def _pdf(streams: list[bytes]) -> bytes:
    """A minimal PDF whose content streams are ``streams`` (already deflated)."""
    body = b"%PDF-1.7\n"
    for n, stream in enumerate(streams, start=1):
        body += (
            f"{n} 0 obj << /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
            + stream
            + b"\nendstream\nendobj\n"
        )
    return body + b"%%EOF\n"


def _tar() -> bytes:
    """A real tar archive of one text file: no leading magic, ``ustar`` at offset 257."""
    out = io.BytesIO()
    data = b"# notes\nplain text inside an archive\n"
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("notes.md")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.checklist("protection.file-uploads")
def test_every_upload_refusal(client: httpx.Client, evidence: Evidence) -> None:
    """A bomb split over streams 413 (or 415), a tar archive 415, NUL bytes in text 415; a PDF
    with text 201."""
    split = _pdf([zlib.compress(bytes(STREAM_INFLATED), 9)] * SPLIT_STREAMS)
    refused = {
        "pdf bomb split over streams": (upload(client, "split.pdf", split, "application/pdf"), 413),
        "tar archive": (upload(client, "notes.tar", _tar(), "application/x-tar"), 415),
        "text with NUL bytes": (upload(client, "nul.md", b"# notes\x00\x00 and text\n"), 415),
    }
    real = _pdf([zlib.compress(b"BT /F1 12 Tf (preflight upload probe) Tj ET")])
    accepted = upload(client, "probe.pdf", real, "application/pdf")
    codes = {name: r.status_code for name, (r, _) in refused.items()}
    evidence.add(codes=codes, real_pdf=accepted.status_code)
    wrong = {
        name: f"{r.status_code} {r.text[:120]}"
        for name, (r, status) in refused.items()
        if r.status_code != status and not (status == 413 and r.status_code == 415)
    }
    assert not wrong, f"uploads not refused as required: {wrong}"
    assert accepted.status_code == 201, f"a real PDF was refused: {accepted.text[:200]}"
