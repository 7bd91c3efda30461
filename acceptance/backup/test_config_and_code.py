"""Backup Verification: the configuration backup is current; the deployed commit is the release's.

The configuration backup is ``[release] config_snapshot`` (where operations keep it) or, on the
reference stack, the snapshot the stack took at boot. It is current when the hash of its settings
equals the running configuration's hash (``GET /admin/config``): same algorithm as the service,
sha256 of the canonical JSON of the redacted settings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.release import git, repo_path
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json


def _snapshot_path(config: SuiteConfig, target: Target) -> Path | None:
    if config.release.config_snapshot is not None:
        return repo_path(config.release.config_snapshot)
    if target.stack is not None and target.stack.config_snapshot is not None:
        return Path(target.stack.config_snapshot)
    return None


@pytest.mark.since("0.1.0")
@pytest.mark.checklist("backup.config-current")
def test_config_snapshot_matches_running_config(
    admin_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """The exported (redacted) configuration snapshot hashes to the running configuration's hash."""
    path = _snapshot_path(config, target)
    if path is None:
        not_verified("no configuration backup known (set [release] config_snapshot)")
    assert path.is_file(), f"configuration backup {path} does not exist"
    snapshot = json.loads(path.read_text(encoding="utf-8"))
    blob = json.dumps(snapshot.get("settings"), sort_keys=True).encode()
    snapshot_hash = hashlib.sha256(blob).hexdigest()
    running = get_json(admin_client, "/admin/config")
    changed = sorted(
        k for k, v in running["settings"].items() if (snapshot.get("settings") or {}).get(k) != v
    )
    evidence.add(
        snapshot=str(path),
        exported_at=snapshot.get("exported_at"),
        snapshot_hash=snapshot_hash,
        running_hash=running["config_hash"],
        recorded_hash=snapshot.get("config_hash"),
        differing_settings=changed,
    )
    assert snapshot_hash == snapshot.get("config_hash"), "the snapshot does not match its own hash"
    assert snapshot_hash == running["config_hash"], f"backup is stale; settings differ: {changed}"


def _expected_commit(config: SuiteConfig, target: Target) -> tuple[str | None, str]:
    if config.expected_commit:
        return config.expected_commit, "expected_commit"
    if config.release.tag:
        return git("rev-parse", f"{config.release.tag}^{{commit}}"), f"tag {config.release.tag}"
    if target.stack is not None:
        return git("rev-parse", "HEAD"), "HEAD of the checkout the stack runs"
    return None, "nothing configured"


@pytest.mark.checklist("backup.code-up-to-date")
def test_deployed_commit_is_release_commit(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """The commit /version reports is the release tag's (or the configured) commit."""
    expected, source = _expected_commit(config, target)
    deployed = get_json(anon_client, "/version").get("commit")
    evidence.add(deployed_commit=deployed, expected_commit=expected, expected_from=source)
    if expected is None:
        not_verified(f"no release commit to compare with ({source}; set [release] tag)")
    assert deployed == expected, f"deployed {deployed}, release is {expected} ({source})"
