"""Deployment Readiness: the running build says which version, commit and build time it is."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")


@pytest.mark.checklist("readiness.artifacts-tagged")
def test_version_reports_build(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """/version names a release version, a full commit id and a plausible build time."""
    info = get_json(anon_client, "/version")
    evidence.add(**{k: info.get(k) for k in ("version", "commit", "build_time", "schema_version")})
    version, commit = str(info.get("version")), str(info.get("commit"))
    assert SEMVER.match(version), f"version {version!r} is not a release version"
    assert COMMIT.match(commit), f"commit {commit!r} is not a full git commit id"
    if config.expected_version:
        assert version == config.expected_version, (
            f"running {version}, releasing {config.expected_version}"
        )
    if config.expected_commit:
        assert commit == config.expected_commit, (
            f"running {commit}, release tag is {config.expected_commit}"
        )
    built = datetime.fromisoformat(str(info.get("build_time")))
    assert built.tzinfo is not None, "build time has no timezone"
    assert built <= datetime.now(UTC) + timedelta(minutes=5), f"build time {built} is in the future"
