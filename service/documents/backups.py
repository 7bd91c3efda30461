"""Backups of the document store as an operation: take, record, prune, verify the latest.

Shared by `POST /admin/backups` and the worker's ``backup`` job kind, so both record the same
thing in Redis (`BACKUP_LAST_KEY`): health and the suite read the age and result of the last
backup from there, whichever process took it.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from service.documents.maintenance import backup, sidecar, verify_restore
from service.documents.store import DocumentStore
from service.keyspace.keys import BACKUP_LAST_KEY
from service.settings import Settings

BACKUP_GLOB = "documents-*.sqlite3"


class BackupsDisabledError(RuntimeError):
    """``backups_enabled`` is false: nothing is taken (and the suite flags it)."""


def backup_dir(settings: Settings) -> Path:
    return settings.backup_dir or settings.data_dir / "backups"


def take_backup(settings: Settings) -> dict[str, Any]:
    """Back up now, keep the newest ``backup_keep``; the record of this backup."""
    if not settings.backups_enabled:
        raise BackupsDisabledError("backups are disabled (backups_enabled=false)")
    store = DocumentStore.from_settings(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    result = backup(store, backup_dir(settings) / f"documents-{stamp}.sqlite3")
    for old in sorted(backup_dir(settings).glob(BACKUP_GLOB))[: -settings.backup_keep]:
        old.unlink(missing_ok=True)
        sidecar(old).unlink(missing_ok=True)
    return {"ok": True, "error": None, **result.as_dict()}


async def record(redis: aioredis.Redis, entry: dict[str, Any]) -> None:
    await redis.set(BACKUP_LAST_KEY, json.dumps(entry))


async def last_backup(redis: aioredis.Redis) -> dict[str, Any] | None:
    raw = await redis.get(BACKUP_LAST_KEY)
    if raw is None:
        return None
    entry: dict[str, Any] = json.loads(raw)
    at = entry.get("at")
    if at:
        entry["age_s"] = round((datetime.now(UTC) - datetime.fromisoformat(at)).total_seconds(), 3)
    return entry


async def backup_and_record(settings: Settings, redis: aioredis.Redis) -> dict[str, Any]:
    """Take a backup in a thread and record the outcome (failures too) in Redis."""
    import asyncio

    try:
        entry = await asyncio.to_thread(take_backup, settings)
    except Exception as exc:
        entry = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "at": datetime.now(UTC).isoformat(),
        }
        await record(redis, entry)
        raise
    await record(redis, entry)
    return entry


def newest_backup(settings: Settings) -> Path | None:
    files = sorted(backup_dir(settings).glob(BACKUP_GLOB))
    return files[-1] if files else None


def verify_latest(settings: Settings) -> dict[str, Any]:
    """Restore the newest backup into a scratch file and check it; the report."""
    newest = newest_backup(settings)
    if newest is None:
        return {"ok": False, "backup": None, "problems": ["no backup exists"]}
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="restore-") as scratch:
        report = verify_restore(newest, Path(scratch) / "restored.sqlite3")
    return report.as_dict()
