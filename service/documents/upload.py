"""Vetting of uploaded files: type by content, safe names, bounded PDF text extraction.

Why by content: a client's Content-Type and file name are claims; the first bytes are evidence.
Only PDF and UTF-8 text (Markdown/plain) are accepted; archives (zip, gzip, bzip2, xz, 7z, rar,
tar) are refused outright, so nothing is ever unpacked. PDF streams are inflated with a hard cap
on the total output (``upload_max_pdf_stream_bytes``): a deflate bomb stops at the cap.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from pathlib import PurePosixPath, PureWindowsPath

ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x28\xb5\x2f\xfd",
)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
_TEXT_OP = re.compile(rb"\((?:\\.|[^\\)])*\)\s*Tj|\[(?:[^\]])*\]\s*TJ")
_STRING = re.compile(rb"\(((?:\\.|[^\\)])*)\)")
MAX_NAME_CHARS = 120


class UploadRejectedError(ValueError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def sniff(data: bytes) -> str:
    """``application/pdf`` or ``text/plain``; `UploadRejectedError` 415 for anything else."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if any(data.startswith(m) for m in ARCHIVE_MAGIC) or data[257:262] == b"ustar":
        raise UploadRejectedError(415, "archive_refused", "archives are not accepted")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadRejectedError(415, "unsupported_type", "only PDF or UTF-8 text") from exc
    if "\x00" in text or sum(not (c.isprintable() or c.isspace()) for c in text[:4096]) > 8:
        raise UploadRejectedError(415, "unsupported_type", "binary content is not text")
    return "text/plain"


def safe_name(name: str | None) -> str:
    """The last path component, NFKC-normalised, only [A-Za-z0-9._-], never hidden or empty."""
    raw = unicodedata.normalize("NFKC", name or "")
    base = PureWindowsPath(PurePosixPath(raw).name).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")[:MAX_NAME_CHARS]
    return cleaned or "upload"


def pdf_text(data: bytes, max_inflated: int) -> str:
    """Text shown by Tj/TJ operators of the (inflated) content streams, bounded in total."""
    budget = max_inflated
    parts: list[str] = []
    for match in _STREAM.finditer(data):
        raw = match.group(1)
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(raw, budget + 1)
        except zlib.error:
            body = raw  # an uncompressed stream
        if len(body) > budget or inflater.unconsumed_tail:
            raise UploadRejectedError(
                413, "decompression_limit", "PDF streams inflate beyond the allowed size"
            )
        budget -= len(body)
        for op in _TEXT_OP.finditer(body):
            for string in _STRING.findall(op.group(0)):
                parts.append(string.decode("latin-1").replace("\\(", "(").replace("\\)", ")"))
    return " ".join(" ".join(parts).split())
