"""The configuration backup a deployment takes at boot: the redacted running configuration.

Production keeps a copy of what it deployed next to its data backups; the stack does the same
at boot, so `backup.config-current` can prove that the backup matches what actually runs. The
snapshot comes from the API itself (``GET /admin/config``): it records the configuration the
service parsed, not the environment the stack meant to give it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx

from service.stack.files import write_private

SNAPSHOT_NAME = "config-snapshot.json"


def write_config_snapshot(http: httpx.Client, url: str, admin_key: str, directory: Path) -> Path:
    """Fetch the redacted configuration and its hash; write them (0600) into ``directory``."""
    response = http.get(f"{url}/admin/config", headers={"Authorization": f"Bearer {admin_key}"})
    response.raise_for_status()
    body = response.json()
    snapshot = {
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config_hash": body["config_hash"],
        "settings": body["settings"],
    }
    path = directory / SNAPSHOT_NAME
    write_private(path, (json.dumps(snapshot, indent=2, sort_keys=True) + "\n").encode())
    return path
