"""The stack's ingestion parts: webhook secrets, the pseudonym key, and the poller processes.

Secrets are generated per stack like the API keys: they reach the service through its
environment and the suite through ``stack.json`` (``webhook_secrets``, mode 0600), which is how
the webhook checks sign real events. The pollers are supervised like workers (restarted when
they die), each one ``python -m service.ingest.poller --poller-id poller-N``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from service.stack.boot import Layout
from service.stack.environment import PYTHON
from service.stack.processes import ManagedProcess


def generate_ingest_secrets() -> dict[str, str]:
    return {name: secrets.token_urlsafe(32) for name in ("github", "huggingface", "pseudonym")}


def ingest_env(generated: Mapping[str, str]) -> dict[str, str]:
    return {
        "PLATFORM_WEBHOOK_GITHUB_SECRET": generated["github"],
        "PLATFORM_WEBHOOK_HF_SECRET": generated["huggingface"],
        "PLATFORM_PSEUDONYM_KEY": generated["pseudonym"],
    }


def poller_process(layout: Layout, env: Mapping[str, str], name: str) -> ManagedProcess:
    """A poller child (not started yet); its id is its name, e.g. ``poller-1``."""
    argv = [PYTHON, "-m", "service.ingest.poller", "--poller-id", name]
    return ManagedProcess(name, argv, env=env, log_path=layout.out(name), cwd=layout.root)
