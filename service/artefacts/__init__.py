"""The repository files the reference stack and the checks read, and whether this is a checkout.

Alert rules, the Alertmanager configuration, runbooks, contacts and the other operations
artefacts live in the repository's ``ops/``, the changelog in ``CHANGELOG.md``: outside every
package, so a wheel would not carry them. This package holds two symlinks to them (``ops``,
``CHANGELOG.md``) that the wheel's build follows (``[tool.setuptools.package-data]``): installed
from a wheel, the copies sit here. ``reference_file`` finds a repository-relative path in the
checkout first and in those copies second, so the same relative path (``ops/contacts.yaml``,
``service/fixtures/corpus.json``) works from a checkout and from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

# The checkout's root; installed from a wheel, the site-packages directory that holds `service`.
SOURCE_ROOT = Path(__file__).resolve().parents[2]
# The copies of ops/ and CHANGELOG.md a wheel ships (in a checkout: symlinks to the originals).
SHIPPED = Path(__file__).resolve().parent


def reference_file(relative: Path | str) -> Path:
    """A repository file by its path relative to the repository root.

    The checkout's file, else the wheel's copy of it (``ops/...``, ``CHANGELOG.md``) or the
    installed package file (``service/...``); the checkout path when neither exists, so that
    an error names the place a reader of the repository would look.
    """
    for root in (SOURCE_ROOT, SHIPPED):
        if (root / relative).exists():
            return root / relative
    return SOURCE_ROOT / relative


def source_checkout() -> Path | None:
    """The git checkout this code runs from; None when it runs from an installed wheel.

    git is never asked: inside a virtual environment that lives in some other repository (a
    release repository's ``.venv``), ``git rev-parse`` in site-packages would answer with that
    repository's commit, which is not the commit of this code.
    """
    return SOURCE_ROOT if (SOURCE_ROOT / ".git").exists() else None
