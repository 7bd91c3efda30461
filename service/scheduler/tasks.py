"""The jobs the workers' scheduler runs: each takes settings and Redis, returns its figures.

A task raises on failure; the scheduler records the error and retries after
``min(period, scheduler_retry_s)``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from service.documents.backups import backup_and_record
from service.documents.store import DocumentStore
from service.scheduler import retention
from service.settings import Settings


async def backup(settings: Settings, redis: Redis) -> dict[str, Any]:
    """Back up the document store (recorded in ``pf:backup:last`` like an operator's backup)."""
    entry = await backup_and_record(settings, redis)
    return {
        "file": Path(entry["path"]).name,
        "documents": entry["documents"],
        "bytes": entry["bytes"],
    }


async def retention_purge(settings: Settings, redis: Redis) -> dict[str, Any]:
    """Apply the retention policy to documents and job records."""
    store = await asyncio.to_thread(DocumentStore.from_settings, settings)
    report = await retention.purge(settings, store, redis)
    return {"documents": report["purged"], **report["records"]}
