"""Data Protection: uploads are bounded and typed by content; injection payloads are inert;
fuzzing the OpenAPI document (schemathesis) finds no 5xx and no schema violation."""

from __future__ import annotations

import gzip
import subprocess
import sys
import zlib

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.documents_api import search, upload

REFUSED_TYPES = {
    "zip archive": ("a.zip", b"PK\x03\x04" + bytes(200), "application/zip"),
    "gzip bomb": ("notes.md", gzip.compress(bytes(20 * 1024 * 1024)), "text/markdown"),
    "ELF binary": ("tool.md", b"\x7fELF\x02\x01\x01" + bytes(200), "text/markdown"),
    "PNG image": ("pic.pdf", b"\x89PNG\r\n\x1a\n" + bytes(200), "application/pdf"),
}
INJECTIONS = [
    '"',
    '")',
    "NEAR(a b)",
    "title:*",
    "* OR 1",
    "a AND (b",
    "'; DROP TABLE documents; --",
    "^x",
    "x\x00y",
    "{col}",
    "documents_fts MATCH 'x'",
    "%' OR '1'='1",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
]
TRAVERSALS = [
    "/status/..%2f..%2fetc%2fpasswd",
    "/status/%2e%2e%2f%2e%2e%2fetc",
    "/search/../admin/config",
]


def _pdf_bomb() -> bytes:
    stream = zlib.compress(bytes(64 * 1024 * 1024), 9)
    return (
        b"%PDF-1.7\n1 0 obj << /Length "
        + str(len(stream)).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + stream
        + b"\nendstream\nendobj\n%%EOF\n"
    )


@pytest.mark.checklist("protection.file-uploads")
def test_upload_limits(client: httpx.Client, config: SuiteConfig, evidence: Evidence) -> None:
    """Oversize is 413, non-PDF/text and archives 415, a deflate bomb is stopped, names are safe."""
    codes: dict[str, int] = {}
    big = upload(client, "big.md", b"a " * (config.documents.upload_probe_bytes // 2 + 1))
    codes["oversize"] = big.status_code
    for name, (filename, data, ctype) in REFUSED_TYPES.items():
        codes[name] = upload(client, filename, data, ctype).status_code
    codes["pdf deflate bomb"] = upload(
        client, "bomb.pdf", _pdf_bomb(), "application/pdf"
    ).status_code
    ok = upload(client, "../../../etc/cron.d/evil\\..\\x.md", b"# notes\nharmless text")
    codes["traversal name"] = ok.status_code
    stored_name = ok.json().get("filename", "") if ok.status_code == 201 else ""
    evidence.add(codes=codes, stored_name=stored_name)
    assert codes["oversize"] == 413, f"oversize upload answered {codes['oversize']}"
    wrong = {n: c for n, c in codes.items() if n in REFUSED_TYPES and c != 415}
    assert not wrong, f"expected 415 for {wrong}"
    assert codes["pdf deflate bomb"] in (413, 415), "a PDF deflate bomb was accepted"
    assert ok.status_code == 201, f"a plain Markdown upload failed: {ok.text[:200]}"
    assert "/" not in stored_name and "\\" not in stored_name and ".." not in stored_name, (
        f"unsafe stored name {stored_name!r}"
    )


@pytest.mark.checklist("protection.input-validation")
def test_injection_payloads_inert(
    client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Search syntax, SQL and traversal payloads give 200/4xx (never 5xx); oversized q is 422."""
    codes = {payload: search(client, payload).status_code for payload in INJECTIONS}
    codes.update({path: client.get(path).status_code for path in TRAVERSALS})
    oversized = search(client, "word " * (config.documents.max_query_chars_max // 5 + 1))
    codes["oversized q"] = oversized.status_code
    evidence.add(codes=codes)
    server_errors = {p: c for p, c in codes.items() if c >= 500}
    assert not server_errors, f"5xx for {server_errors}"
    assert oversized.status_code == 422, (
        f"a {config.documents.max_query_chars_max}+ char query was accepted"
    )
    # 400: an ingress refuses a path that climbs above the root once decoded, before the API.
    inert = (200, 400, 403, 404, 422)
    assert all(c in inert for c in codes.values()), f"unexpected answers: {codes}"


@pytest.mark.checklist("protection.input-validation")
def test_openapi_fuzzing(target: Target, config: SuiteConfig, evidence: Evidence) -> None:
    """schemathesis over /openapi.json (ordinary key): no 5xx, every answer matches the schema."""
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{target.url}/openapi.json",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--max-examples",
        str(config.documents.fuzz_max_examples),
        "--header",
        f"X-API-Key: {target.api_key}",
        "--exclude-path-regex",
        "^/(admin|v1/chat)",
        "--phases",
        "examples,fuzzing",
        "--no-color",
    ]
    if target.ca_file:
        argv += ["--tls-verify", str(target.ca_file)]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            timeout=config.documents.fuzz_timeout_s,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"schemathesis did not finish within {config.documents.fuzz_timeout_s} s")
    tail = done.stdout[-2500:]
    evidence.add(exit_code=done.returncode, summary=tail[-800:])
    assert done.returncode == 0, f"schemathesis found problems:\n{tail}\n{done.stderr[-500:]}"
