"""The ``documents`` component of ``/health`` and the ``backup`` job kind's handler.

Health reports the store's size, schema version and the age of the last backup; it is degraded
when the store cannot be opened, is not at the latest schema, or the last backup failed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from service.documents.backups import backup_and_record, last_backup
from service.documents.schema import LATEST_VERSION
from service.documents.store import DocumentStore
from service.settings import Settings, get_settings

# Part of health's 1 s per-component budget: a hung Redis must not hide the store's figures.
REDIS_BUDGET_S = 0.5


def _store_figures(settings: Settings) -> tuple[int, int]:
    store = DocumentStore.from_settings(settings)
    return store.count(), store.schema_version()


async def documents_component(settings: Settings, redis: aioredis.Redis) -> dict[str, Any]:
    count, version = await asyncio.to_thread(_store_figures, settings)
    try:
        async with asyncio.timeout(REDIS_BUDGET_S):
            last = await last_backup(redis)
    except Exception:  # Redis trouble is the redis component's to report
        last = None
    backup_ok = last is None or bool(last.get("ok"))
    ok = version == LATEST_VERSION and backup_ok
    return {
        "status": "ok" if ok else "degraded",
        "count": count,
        "schema_version": version,
        "latest_schema_version": LATEST_VERSION,
        "backups_enabled": settings.backups_enabled,
        "last_backup_age_s": None if last is None else last.get("age_s"),
        "last_backup_ok": None if last is None else last.get("ok"),
    }


class BackupPayload(BaseModel):
    """``backup`` takes no parameters: where and how many come from settings."""

    model_config = ConfigDict(extra="forbid")


async def run_backup_job(payload: BackupPayload, attempt: object) -> dict[str, Any]:
    """Worker handler: take a backup and record it in Redis, like ``POST /admin/backups``."""
    settings = get_settings()
    redis = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        entry = await backup_and_record(settings, redis)
    finally:
        await redis.aclose()
    return {"ok": True, "path": entry["path"], "documents": entry["documents"]}
