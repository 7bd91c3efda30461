"""Data Consistency: the document store passes its integrity check; the last backup job is sound."""

from __future__ import annotations

import httpx
import pytest

from acceptance.api import get_json
from acceptance.config import SuiteConfig
from acceptance.fixtures import Evidence


@pytest.mark.checklist("data.db-integrity")
def test_document_store_integrity(admin_client: httpx.Client, evidence: Evidence) -> None:
    """Page check, FTS index vs documents, every checksum and the schema version all pass."""
    report = get_json(admin_client, "/admin/documents/integrity")
    evidence.add(
        checks=report.get("checks"),
        documents=report.get("documents"),
        indexed=report.get("indexed"),
        bad_checksums=report.get("bad_checksums"),
    )
    assert report.get("ok") is True, f"integrity check failed: {report.get('checks')}"
    assert report.get("documents") == report.get("indexed"), "index and documents differ"


@pytest.mark.checklist("data.backups-ok")
def test_last_backup_succeeded_and_verifies(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """The last backup succeeded, is recent, and its artefact restores and verifies."""
    latest = get_json(admin_client, "/admin/backups/latest")
    last = latest.get("last") or {}
    evidence.add(
        enabled=latest.get("enabled"),
        last_ok=last.get("ok"),
        age_s=last.get("age_s"),
        path=last.get("path"),
        error=last.get("error"),
    )
    assert latest.get("enabled") is True, "backups are disabled"
    assert last, "no backup has ever been recorded"
    assert last.get("ok") is True, f"last backup failed: {last.get('error')}"
    assert last["age_s"] <= config.documents.backup_max_age_s, (
        f"last backup is {last['age_s']:.0f} s old (max {config.documents.backup_max_age_s:.0f})"
    )
    response = admin_client.post("/admin/backups/verify")
    verify = response.json()
    evidence.add(verify_ok=verify.get("ok"), problems=verify.get("problems"))
    assert response.status_code == 200 and verify.get("ok") is True, (
        f"backup does not verify: {verify.get('problems')}"
    )
