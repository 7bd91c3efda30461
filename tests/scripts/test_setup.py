"""scripts/setup: its help, and the check that lets it skip an installed Python package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPS = ROOT / "scripts" / "python_deps.py"


def _deps(script: Path, extras: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), extras],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_names_what_it_installs() -> None:
    """--help is the header comment: the packages, the options, and that it skips what exists."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "setup"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    for word in ("Skips what is present", "prometheus-alertmanager", "chromium", "--no-debian"):
        assert word in done.stdout


def test_this_environment_has_every_requirement() -> None:
    """The test environment satisfies pyproject's requirements and the dev extra (0 or 3)."""
    done = _deps(DEPS, "dev")
    assert done.returncode in (0, 3), done.stdout


def test_missing_requirement_is_named(tmp_path: Path) -> None:
    """A requirement that is not installed makes the check fail, naming it."""
    (tmp_path / "scripts").mkdir()
    script = Path(shutil.copy(DEPS, tmp_path / "scripts" / "python_deps.py"))
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["pytest>=1"]\n'
        '[project.optional-dependencies]\nextra = ["no-such-package-for-preflight>=1"]\n'
    )
    done = _deps(script, "extra")
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert first.startswith("missing: no-such-package-for-preflight>=1")
    assert "pytest" not in first  # installed, so not listed
