"""Stack boot step: seed the document store with the labelled fixture corpus, then back it up.

Runs as a child process with the service's own environment (so it writes the same
``PLATFORM_DATA_DIR`` the API reads, and records the backup in the stack's Redis) while the API
starts (it opens the store on first use) and before the workers; a failure fails the boot with
the child's output.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from service.stack.environment import PYTHON
from service.stack.polling import StackError


def seed_documents(env: Mapping[str, str], cwd: Path, timeout: float) -> None:
    argv = [PYTHON, "-m", "service.documents.seed", "--backup"]
    try:
        done = subprocess.run(
            argv,
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"seeding the document store took longer than {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise StackError(f"seeding the document store failed: {done.stderr[-2000:]}")
