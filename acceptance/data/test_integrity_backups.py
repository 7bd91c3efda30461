"""Data Consistency: the document store and the job system pass their integrity checks; the last
backup job is sound."""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json


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


@pytest.mark.since("0.2.0")
@pytest.mark.checklist("data.db-integrity")
def test_job_records_consistent(
    admin_client: httpx.Client, new_in_release: bool, evidence: Evidence
) -> None:
    """No orphaned job record, no queue entry without its record, and no in-flight entry of a
    dead worker left unclaimed past the recovery deadline (``GET /admin/jobs/integrity``).
    The route is new in 0.2.0: missing from a release of that version, it fails."""
    response = admin_client.get("/admin/jobs/integrity")
    if response.status_code == 404 and not new_in_release:
        not_verified("the target has no job-system integrity route (/admin/jobs/integrity)")
    assert response.status_code == 200, f"job integrity: {response.status_code} {response.text}"
    report = response.json()
    evidence.add(
        job_checks=report.get("checks"),
        job_records=report.get("job_records"),
        unfinished_jobs=report.get("unfinished"),
        recovery_deadline_s=report.get("recovery_deadline_s"),
        orphaned_records=report.get("orphaned_records"),
        entries_without_record=report.get("entries_without_record"),
        ownerless_in_flight=report.get("ownerless_in_flight"),
    )
    assert report.get("ok") is True, f"job system integrity failed: {report.get('checks')}"


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
