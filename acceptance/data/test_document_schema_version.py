"""Data Consistency: the document store's schema, the second schema the platform runs on.

data.schema-versions compares the job datastore's schema version across the API, the workers
and /version. The document store (SQLite, its own migrations) reports its version on two other
surfaces: the ``documents`` component of /health (with the version the code expects) and
``GET /admin/documents/schema``. Every surface that reports it must report one value, and it
must be the version the running code expects.
"""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import not_verified
from acceptance.support.api import get_json, health


@pytest.mark.checklist("data.schema-versions")
def test_document_store_schema_agrees(
    anon_client: httpx.Client, optional_admin_client: httpx.Client | None, evidence: Evidence
) -> None:
    """/health's documents component: schema_version == latest_schema_version, and the admin
    schema route (with the admin key) says the same."""
    component = health(anon_client)["components"].get("documents")
    if not isinstance(component, dict):
        not_verified("/health reports no documents component (the target has no document store)")
    reported = {
        "health: schema_version": component.get("schema_version"),
        "health: latest_schema_version": component.get("latest_schema_version"),
    }
    if optional_admin_client is not None:
        admin = get_json(optional_admin_client, "/admin/documents/schema")
        reported["admin: version"] = admin.get("version")
        reported["admin: latest"] = admin.get("latest")
    evidence.add(document_schema=reported, admin_route_read=optional_admin_client is not None)
    missing = sorted(k for k, v in reported.items() if not isinstance(v, int))
    assert not missing, f"document store schema version not reported: {missing} ({reported})"
    assert len(set(reported.values())) == 1, f"document store schema versions differ: {reported}"
