"""Deployment Readiness: the previous release is known and can run on the current data schema.

The previous release comes from ``[release] previous_version`` or the CHANGELOG; the schema range
it supports from the compatibility table (``ops/compatibility.yaml``). If the schema the target
runs now is outside that range, rolling back means a down-migration first: not a quick restore.
A release entry that names its commit must resolve in this repository: a rollback has to know
exactly what to deploy.
"""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.release import compatibility, git, previous_release, repo_path
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json


@pytest.mark.checklist("readiness.restore-previous")
def test_previous_release_compatible_with_schema(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """The previous release is identified and supports the schema version running now."""
    info = get_json(anon_client, "/version")
    current, schema = str(info.get("version")), info.get("schema_version")
    previous = previous_release(config, current)
    table = compatibility(config)
    entry = table.get(previous or "", {})
    evidence.add(
        current_version=current,
        schema_version=schema,
        previous_version=previous,
        compatibility_file=str(repo_path(config.release.compatibility)),
        previous_supports=entry,
    )
    if previous is None:
        not_verified(f"no previous release of {current} (CHANGELOG or [release] previous_version)")
    assert table, f"no compatibility table at {config.release.compatibility}"
    assert entry, f"previous release {previous} is not in the compatibility table"
    low, high = entry.get("schema_min"), entry.get("schema_max")
    assert isinstance(schema, int), f"/version reports no schema version: {schema!r}"
    commit = entry.get("commit")
    if commit is not None:
        resolved = git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
        evidence.add(previous_commit=commit, previous_commit_resolved=resolved is not None)
        if resolved is None and git("rev-parse", "--is-shallow-repository") != "false":
            not_verified(f"cannot resolve {previous}'s commit {commit}: no (full) git history here")
        assert resolved is not None, f"previous release {previous}: commit {commit} not in the repo"
    assert low <= schema <= high, (
        f"schema {schema} outside {previous}'s supported range [{low}, {high}]: "
        "restoring it needs a down-migration first"
    )
