"""Peers measured side by side with the platform, each run from its own venv (bench/peers/setup.sh).

Peer code is never imported into this process nor committed here: a peer runs as a subprocess of
its venv's interpreter, and a benchmark or test that needs a peer whose venv is absent skips it,
saying how to create it.
"""

from __future__ import annotations

import os
from pathlib import Path

# Where bench/peers/setup.sh puts the venvs; PEERS_DIR moves them (the script reads it too).
PEERS_DIR = Path(os.environ.get("PEERS_DIR", "/work/peers"))
SETUP = "bash bench/peers/setup.sh"


def peer_python(name: str) -> Path | None:
    """The interpreter of peer `name`'s venv, or None when it was not created."""
    python = PEERS_DIR / name / "bin" / "python"
    return python if python.exists() else None


def missing(name: str) -> str:
    """Why a peer cannot be measured, with the command that fixes it."""
    return f"peer {name!r} not installed: no venv at {PEERS_DIR / name} (run `{SETUP} {name}`)"
