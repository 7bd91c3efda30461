"""Where the files named in preflight.toml are: one rule, applied once when the run starts.

A relative path in a table of preflight.toml (``[ops] rules_files``, ``[release] changelog``,
``[documents] labelled_set``, ``[report] previous_run`` ...) names a file of the release
repository, i.e. of the pytest root directory. Where that directory has no such file, the
reference platform's copy is used: the checkout's when the suite runs from one, the copy the
wheel ships when it is installed (``service.artefacts``). So the defaults work from an empty
directory, and a release repository replaces any artefact by having the file at that path.
The top-level ``stack`` and ``ca_file`` are target options and stay relative to the directory
pytest was started in, like ``--stack`` and ``--ca-file``.

Resolving here, once, gives every check an absolute path: the checks and helpers that read these
files need not agree on a base directory.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from acceptance.settings import SuiteConfig
from service.artefacts import reference_file


def resolve(path: Path, root: Path) -> Path:
    """``path`` absolute; relative: the root directory's file, else the reference copy."""
    if path.is_absolute() or (root / path).exists():
        return root / path
    shipped = reference_file(path)
    return shipped if shipped.exists() else root / path


def anchor_paths(suite: SuiteConfig, root: Path) -> None:
    """Make every path of every table of ``suite`` absolute (each table replaced by its
    anchored copy: some, like ``[workload]``, are frozen)."""
    for name in type(suite).model_fields:
        table = getattr(suite, name)
        if isinstance(table, BaseModel):
            setattr(suite, name, _anchored(table, root))


def _anchored(table: BaseModel, root: Path) -> BaseModel:
    changes: dict[str, object] = {}
    for name in type(table).model_fields:
        value = getattr(table, name)
        if isinstance(value, Path):
            changes[name] = resolve(value, root)
        elif isinstance(value, list) and value and all(isinstance(v, Path) for v in value):
            changes[name] = [resolve(v, root) for v in value]
        elif isinstance(value, BaseModel):
            anchored = _anchored(value, root)
            if anchored is not value:
                changes[name] = anchored
    return table.model_copy(update=changes) if changes else table
