"""Files named in preflight.toml: the release repository's, else the copies preflight ships."""

from __future__ import annotations

from pathlib import Path

from acceptance.harness.artefacts import anchor_paths, resolve
from acceptance.settings import load_suite_config
from service.artefacts import SHIPPED, SOURCE_ROOT, reference_file, source_checkout


def test_root_directory_file_wins(tmp_path: Path) -> None:
    """A release repository's own file replaces the reference copy at the same path."""
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "contacts.yaml").write_text("roles: {}\n")
    assert resolve(Path("ops/contacts.yaml"), tmp_path) == tmp_path / "ops" / "contacts.yaml"


def test_reference_copy_when_the_root_has_none(tmp_path: Path) -> None:
    """An empty directory (a wheel run from a fresh release repository) gets the reference copy."""
    assert resolve(Path("ops/contacts.yaml"), tmp_path) == reference_file("ops/contacts.yaml")
    assert reference_file("ops/contacts.yaml").is_file()


def test_missing_everywhere_names_the_root(tmp_path: Path) -> None:
    """A file nobody has is looked for, and reported, in the release repository."""
    assert resolve(Path("ops/nope.yaml"), tmp_path) == tmp_path / "ops" / "nope.yaml"


def test_absolute_paths_unchanged(tmp_path: Path) -> None:
    assert resolve(tmp_path / "x.yaml", Path("/elsewhere")) == tmp_path / "x.yaml"


def test_defaults_resolve_from_an_empty_directory(tmp_path: Path) -> None:
    """Every default path of every table points at an existing file once anchored."""
    suite = load_suite_config(None)
    anchor_paths(suite, tmp_path)
    paths = [
        *suite.ops.rules_files,
        *suite.ops.rule_tests,
        suite.ops.alertmanager_config,
        suite.ops.runbooks_dir,
        suite.ops.contacts_file,
        suite.ops.comms_plan,
        suite.ops.tos_register,
        suite.release.changelog,
        suite.release.compatibility,
        suite.documents.labelled_set,
    ]
    assert all(path.is_absolute() and path.exists() for path in paths), paths


def test_shipped_copies_are_the_repository_files() -> None:
    """In a checkout the wheel's copies are symlinks to ops/ and CHANGELOG.md, not stale files."""
    assert source_checkout() == SOURCE_ROOT
    assert (SHIPPED / "ops").resolve() == SOURCE_ROOT / "ops"
    assert (SHIPPED / "CHANGELOG.md").resolve() == SOURCE_ROOT / "CHANGELOG.md"
