"""Writing files that hold secrets: mode 0600 from the first byte, replaced atomically.

``stack.json`` is rewritten by the supervisor while tests read it, so a reader must see either the
old or the new file, never half of one; and a key must never sit in a world-readable file, not even
between ``open`` and ``chmod``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_public(path: Path, data: bytes) -> None:
    """Write a non-secret file (a certificate) atomically with mode 0644."""
    write_private(path, data)
    path.chmod(0o644)
