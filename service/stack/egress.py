"""Egress allowlist entries for the stack's emulators: exactly their ``127.0.0.1:PORT``.

The platform refuses loopback addresses unless the exact ``host:port`` is allowlisted, so an
emulator that the platform must call (arXiv, a robots.txt site, ...) adds itself with
``service_env=allow_egress`` (or merges ``allow_egress(ctx)`` into its own env). Entries
accumulate per stack, because ``boot_auxiliary`` merges each service's env in order and the
last one's ``PLATFORM_EGRESS_ALLOWLIST`` must carry all of them.
"""

from __future__ import annotations

import json
from pathlib import Path

from service.stack.components import AuxiliaryContext

_ALLOWED_BY_STACK: dict[Path, list[str]] = {}


def allow_egress(ctx: AuxiliaryContext) -> dict[str, str]:
    entries = _ALLOWED_BY_STACK.setdefault(ctx.stack_dir, [])
    entry = f"127.0.0.1:{ctx.port}"
    if entry not in entries:
        entries.append(entry)
    return {"PLATFORM_EGRESS_ALLOWLIST": json.dumps(entries)}
