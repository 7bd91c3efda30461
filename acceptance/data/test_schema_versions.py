"""Data Consistency: API, every worker and the datastore agree on the schema version."""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.support.api import get_json, health


@pytest.mark.checklist("data.schema-versions")
def test_schema_versions_agree(anon_client: httpx.Client, evidence: Evidence) -> None:
    """The versions reported by /health (api, datastore, each worker) and /version are one value."""
    schema = health(anon_client)["components"]["schema"]
    reported = {
        "api": schema["api"],
        "datastore": schema["datastore"],
        "version_endpoint": get_json(anon_client, "/version")["schema_version"],
    }
    reported.update({f"worker:{w}": v for w, v in schema["workers"].items()})
    evidence.add(schema_versions=reported)
    assert schema["workers"], "no worker reported a schema version"
    assert len(set(reported.values())) == 1, f"schema versions disagree: {reported}"
