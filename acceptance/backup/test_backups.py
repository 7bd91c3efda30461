"""Backup Verification: the newest database backup restores soundly; the rollback is exercised."""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json


@pytest.mark.checklist("backup.recent-valid")
def test_newest_backup_recent_and_restorable(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """The newest backup is young enough and restores into a scratch copy with equal counts."""
    last = get_json(admin_client, "/admin/backups/latest").get("last") or {}
    assert last.get("ok") is True, f"no successful backup recorded: {last.get('error')}"
    age = float(last["age_s"])
    response = admin_client.post("/admin/backups/verify")
    report = response.json()
    evidence.add(
        age_s=age,
        backup=report.get("backup"),
        problems=report.get("problems"),
        expected_documents=report.get("expected_documents"),
        restored_documents=report.get("restored_documents"),
    )
    assert age <= config.documents.backup_max_age_s, f"newest backup is {age:.0f} s old"
    assert response.status_code == 200 and report.get("ok") is True, report.get("problems")
    assert report.get("expected_documents") == report.get("restored_documents"), "counts differ"


@pytest.mark.checklist("backup.rollback-tested")
def test_schema_rollback_drill(admin_client: httpx.Client, evidence: Evidence) -> None:
    """Down-migration on a copy of the data keeps every document; up again passes integrity."""
    response = admin_client.post("/admin/documents/rollback-drill")
    assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
    drill = response.json()
    evidence.add(
        from_version=drill.get("from_version"),
        down_to=drill.get("down_to"),
        documents=drill.get("documents"),
        steps=drill.get("steps"),
    )
    checks = drill.get("integrity", {}).get("checks")
    assert drill.get("ok") is True, f"rollback drill failed: {drill.get('documents')} {checks}"
