"""What is being released and what it replaces: CHANGELOG versions, tags, the compatibility table.

The version under release is ``[release] version`` or the newest CHANGELOG entry; the previous
release is ``[release] previous_version`` or the entry after it. ``ops/compatibility.yaml`` says
which data schema versions each release can run on, which is what a rollback needs to know.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from acceptance.settings import SuiteConfig
from service.artefacts import source_checkout

# "## [0.1.0] - 2026-01-31" or "## 0.1.0": Keep a Changelog headings; "Unreleased" is skipped.
_HEADING = re.compile(r"^##\s+\[?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)\]?", re.MULTILINE)
NEW_FUNCTIONALITY = "post1h.new-functionality"
REPO_ROOT = Path(__file__).resolve().parents[2]


def repo_path(path: Path) -> Path:
    """A path from preflight.toml: absolute as given, relative to the repository root."""
    return path if path.is_absolute() else REPO_ROOT / path


def changelog_versions(path: Path) -> list[str]:
    """Versions with an entry in the changelog, newest first; [] when there is no file."""
    return _HEADING.findall(path.read_text(encoding="utf-8")) if path.is_file() else []


def version_under_release(config: SuiteConfig) -> str | None:
    """``[release] version``, else the newest CHANGELOG entry."""
    if config.release.version:
        return config.release.version
    versions = changelog_versions(repo_path(config.release.changelog))
    return versions[0] if versions else None


def previous_release(config: SuiteConfig, current: str) -> str | None:
    """``[release] previous_version``, else the CHANGELOG entry right after ``current``."""
    if config.release.previous_version:
        return config.release.previous_version
    versions = changelog_versions(repo_path(config.release.changelog))
    later = versions[versions.index(current) + 1 :] if current in versions else []
    return later[0] if later else None


def compatibility(config: SuiteConfig) -> dict[str, Any]:
    """``releases`` of the compatibility table: version -> {schema_min, schema_max, ...}."""
    path = repo_path(config.release.compatibility)
    if not path.is_file():
        return {}
    releases = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("releases") or {}
    return {str(k): v for k, v in releases.items()}


def git(*args: str) -> str | None:
    """Output of a git command in the suite's repository; None when git or the answer is missing,
    and when the suite runs from an installed wheel (no checkout: nothing to ask)."""
    binary = shutil.which("git")
    if binary is None or source_checkout() is None:
        return None
    done = subprocess.run(  # fixed binary, arguments from the suite's config
        [binary, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False
    )
    answer = done.stdout.strip()
    return answer if done.returncode == 0 and answer else None


def tagged_ids(item: pytest.Item, version: str | None) -> list[str]:
    """A check marked ``since(version)`` for the version under release also decides
    post1h.new-functionality: its verdict is part of "the new functionality works"."""
    since = [str(v) for mark in item.iter_markers("since") for v in mark.args]
    return [NEW_FUNCTIONALITY] if version is not None and version in since else []
