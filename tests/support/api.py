"""The API served for real over loopback HTTP in the tests: known keys, settings, the server.

`tests/conftest.py`'s ``serve`` fixture starts a `LiveServer`; tests build settings with
`api_settings` and authenticate with `KEYS`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from service.settings import Settings
from service.waiting import poll_until

KEYS = {
    "ci": "ci-key-" + "a" * 30,
    "ci-2": "ci2-key-" + "b" * 30,
    "old": "old-key-" + "c" * 30,
    "ops": "ops-key-" + "d" * 30,
}


def api_settings(redis_url: str, tmp_path: Path, /, **overrides: Any) -> Settings:
    """Settings for a test app: known keys ("old" revoked), logs and data under tmp_path."""
    values: dict[str, Any] = {
        "environment": "local",
        "redis_url": redis_url,
        "data_dir": tmp_path / "data",
        "log_dir": tmp_path / "logs",
        "api_keys": {k: KEYS[k] for k in ("ci", "ci-2", "old")},
        "admin_keys": {"ops": KEYS["ops"]},
        "revoked_key_ids": frozenset({"old"}),
        "cors_allow_origins": ["https://app.example"],
        "workers_min": 0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    def log_records(self, name: str) -> list[dict[str, Any]]:
        """Parsed JSON lines of `<log_dir>/<name>.log` (flushed: handlers write per record)."""
        assert self.settings.log_dir is not None
        path = self.settings.log_dir / f"{name}.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def wait_for_record(
        self, name: str, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first record of `name` that matches, polled for: the access record is written
        after the last response byte, so the client can see the answer before it exists."""
        found: dict[str, Any] = poll_until(
            lambda: next((r for r in self.log_records(name) if match(r)), None),
            timeout=timeout,
            interval=0.01,
            message=f"no matching record in {name}.log",
        )
        return found


# What ``start_api`` (tests/service/conftest.py) returns: ``start_api(**settings_overrides)``.
StartApi = Callable[..., LiveServer]
