"""Data Handling: licence-aware storage, checksums and idempotency, retention that purges."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json
from acceptance.support.documents_api import search, unique_word, upload

# Items the labelled fixture corpus marks gated (models behind an access agreement).
GATED_QUERIES = ["gemma instruction tuned", "llama 3.1 instruct"]


def _hits(client: httpx.Client, q: str) -> list[dict[str, Any]]:
    response = search(client, q, limit=20)
    assert response.status_code == 200, f"{response.status_code}: {response.text[:200]}"
    results: list[dict[str, Any]] = response.json()["results"]
    return results


@pytest.mark.checklist("datahandling.export-restrictions")
def test_gated_and_restricted_items_metadata_only(
    client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Gated items show no text at all; restricted ones at most a bounded snippet."""
    hits = [h for q in GATED_QUERIES for h in _hits(client, q)]
    gated = {h["id"]: len(h["snippet"]) for h in hits if h["licence_class"] == "gated"}
    restricted = {h["id"]: len(h["snippet"]) for h in hits if h["licence_class"] == "restricted"}
    evidence.add(gated_snippet_chars=gated, restricted_snippet_chars=restricted)
    if not gated:
        not_verified("no gated item found on the target")
    leaking = {i: n for i, n in gated.items() if n > 0}
    assert not leaking, f"gated items expose text: {leaking}"
    long = {i: n for i, n in restricted.items() if n > config.documents.snippet_max_chars}
    assert not long, f"restricted items expose more than a snippet: {long}"


@pytest.mark.checklist("datahandling.copyright")
def test_full_text_only_for_permissive(
    client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """An upload (no licence grant) keeps a bounded snippet: its last words are not searchable."""
    head, tail = unique_word(), unique_word()
    filler = " ".join(["paragraph text of an uploaded document without a licence"] * 200)
    response = upload(client, "unlicensed.md", f"# {head}\n{head} {filler} {tail}".encode())
    assert response.status_code == 201, (
        f"upload failed: {response.status_code} {response.text[:200]}"
    )
    found_head = _hits(client, head)
    found_tail = _hits(client, tail)
    snippets = [len(h["snippet"]) for h in found_head]
    evidence.add(
        upload_chars=len(filler),
        head_hits=len(found_head),
        tail_hits=len(found_tail),
        snippet_chars=snippets,
    )
    assert found_head, "the upload is not searchable at all"
    assert not found_tail, "text past the snippet bound is stored (full text of unlicensed item)"
    assert max(snippets) <= config.documents.snippet_max_chars, f"snippet too long: {snippets}"


@pytest.mark.checklist("datahandling.integrity")
def test_checksums_verify_and_ingestion_idempotent(
    client: httpx.Client, admin_client: httpx.Client, evidence: Evidence
) -> None:
    """The same upload twice is 'unchanged' the second time; every stored checksum verifies."""
    data = f"# idempotency probe {unique_word()}\nsame bytes twice".encode()
    first, second = upload(client, "same.md", data), upload(client, "same.md", data)
    report = get_json(admin_client, "/admin/documents/integrity")
    evidence.add(
        first=first.json().get("result"),
        second=second.json().get("result"),
        checksums=report.get("checks", {}).get("checksums"),
        bad_checksums=report.get("bad_checksums"),
    )
    assert first.status_code == 201 and first.json().get("result") == "inserted", first.text[:200]
    assert second.json().get("result") == "unchanged", "re-ingesting the same content changed it"
    assert report.get("checks", {}).get("checksums") == "ok", report.get("bad_checksums")


def _purge_selects_stale_upload(
    client: httpx.Client, admin_client: httpx.Client, days: int, evidence: Evidence
) -> None:
    """A fresh upload is not purged now and is purged once past its retention (dry runs)."""
    data = f"# retention probe {unique_word()}\nkept {days} days".encode()
    uploaded = upload(client, "retention-probe.md", data)
    assert uploaded.status_code == 201, f"upload: {uploaded.status_code} {uploaded.text[:200]}"
    later = datetime.now(UTC) + timedelta(days=days + 1)
    counts = {}
    for name, body in (
        ("now", {"dry_run": True}),
        ("after_retention", {"dry_run": True, "as_of": later.isoformat()}),
    ):
        answer = admin_client.post("/admin/retention/purge", json=body)
        assert answer.status_code == 200, f"dry-run purge: {answer.status_code} {answer.text[:200]}"
        counts[name] = int(answer.json().get("purged", {}).get("upload", 0))
    evidence.add(dry_run_uploads_purged=counts, as_of=later.isoformat())
    assert counts["after_retention"] >= counts["now"] + 1, (
        f"a dry run as of {later.date()} would not purge the upload made now: {counts}"
    )


def _insert_stale_upload(data_dir: Path, days: int) -> str:
    """Ground truth: an upload last updated `days` ago, written straight into the stack's store."""
    doc_id = f"upload:{unique_word()}"
    stamp = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")
    conn = sqlite3.connect(data_dir / "documents.sqlite3", timeout=5)
    try:
        conn.execute(
            "INSERT INTO documents (id, source, source_id, title, link, authors, licence,"
            " licence_class, content, content_kind, checksum, ingested_at, updated_at, metadata)"
            " VALUES (?, 'upload', ?, 'stale', 'upload://stale', '[]', 'unknown', 'unknown', '',"
            " 'none', '', ?, ?, '{}')",
            (doc_id, doc_id.split(":", 1)[1], stamp, stamp),
        )
        conn.commit()
    finally:
        conn.close()
    return doc_id


@pytest.mark.destructive
@pytest.mark.checklist("datahandling.retention")
def test_retention_policy_purges(
    client: httpx.Client,
    admin_client: httpx.Client,
    config: SuiteConfig,
    target: Any,
    evidence: Evidence,
) -> None:
    """Every source has a finite retention; a document past it is purged by the purge route
    (on a reference stack a stale document is planted in its store and must be gone; elsewhere
    a fresh upload must be selected by a dry run as of the day it passes its retention)."""
    policy = get_json(admin_client, "/admin/retention")
    days = policy.get("documents_retention_days", {})
    evidence.add(policy=days, job_retention_s=policy.get("job_retention_s"))
    unbounded = {s: d for s, d in days.items() if not 0 < d <= config.documents.retention_max_days}
    assert not unbounded, (
        f"retention missing or above {config.documents.retention_max_days} d: {unbounded}"
    )
    if target.stack is None:
        _purge_selects_stale_upload(client, admin_client, days["upload"], evidence)
        return
    data_dir = Path(target.stack.settings["PLATFORM_DATA_DIR"])
    doc_id = _insert_stale_upload(data_dir, days["upload"] + 1)
    conn = sqlite3.connect(data_dir / "documents.sqlite3", timeout=5)
    try:
        response = admin_client.post("/admin/retention/purge", json={"dry_run": False})
        purged = response.json().get("purged", {})
        records = response.json().get("records")  # job records the purge expired or bounded
        sql = "SELECT count(*) FROM documents WHERE id = ?"
        left = conn.execute(sql, (doc_id,)).fetchone()[0]
    finally:
        # The probe document must not outlive the check (it would fail the integrity check).
        conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        conn.commit()
        conn.close()
    evidence.add(purged=purged, records=records, stale_left=left)
    assert response.status_code == 200, f"purge answered {response.status_code}"
    assert left == 0, f"a document past retention survived the purge ({purged})"
