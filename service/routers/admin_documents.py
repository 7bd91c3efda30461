"""Admin routes of the document store and of egress: integrity, backups, retention, schema, probe.

These are what the release checks call: `data.db-integrity`, `data.backups-ok`,
`backup.recent-valid`, `datahandling.retention`, `opsec.egress` (the probe makes the platform's own
outbound client try a URL, so the check sees the real policy refuse it, not a copy of it).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from service.deps import AdminKey, RedisDep, SettingsDep
from service.documents import backups
from service.documents.deps import StoreDep
from service.documents.maintenance import integrity_check, rollback_drill
from service.documents.schema import LATEST_VERSION
from service.errors import ApiError
from service.outbound.client import EgressRefused, OutboundClient, OutboundError
from service.routers.job_models import ADMIN_REFUSALS
from service.scheduler import retention

router = APIRouter(prefix="/admin", tags=["admin"], responses=ADMIN_REFUSALS)


@router.get("/documents/integrity")
def read_integrity(store: StoreDep, _admin: AdminKey) -> dict[str, Any]:
    return integrity_check(store).as_dict()


@router.get("/documents/schema")
def read_schema(store: StoreDep, _admin: AdminKey) -> dict[str, Any]:
    return {"version": store.schema_version(), "latest": LATEST_VERSION}


@router.post("/documents/rollback-drill")
def run_rollback_drill(settings: SettingsDep, store: StoreDep, _admin: AdminKey) -> dict[str, Any]:
    """Exercise the schema rollback on a scratch copy of the store (the live file is untouched)."""
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="rollback-") as scratch:
        return rollback_drill(store, Path(scratch) / "drill.sqlite3")


@router.post("/backups", status_code=201)
async def create_backup(settings: SettingsDep, redis: RedisDep, _admin: AdminKey) -> dict[str, Any]:
    try:
        return await backups.backup_and_record(settings, redis)
    except backups.BackupsDisabledError as exc:
        raise ApiError(409, "invalid_request_error", str(exc), code="backups_disabled") from exc


@router.get("/backups/latest")
async def read_latest_backup(
    settings: SettingsDep, redis: RedisDep, _admin: AdminKey
) -> dict[str, Any]:
    last = await backups.last_backup(redis)
    return {"enabled": settings.backups_enabled, "last": last}


@router.post("/backups/verify")
async def verify_backup(settings: SettingsDep, _admin: AdminKey) -> dict[str, Any]:
    return await asyncio.to_thread(backups.verify_latest, settings)


class PurgeIn(BaseModel):
    """``as_of`` (dry runs only): count what the purge would remove at that later instant, so an
    operator (or the release gate, without access to the store's files) sees that a document
    past its retention is selected, without removing anything."""

    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False
    as_of: AwareDatetime | None = None

    @model_validator(mode="after")
    def _as_of_only_dry(self) -> PurgeIn:
        if self.as_of is not None and not self.dry_run:
            raise ValueError("as_of is only for dry runs")
        return self


@router.get("/retention")
def read_retention(settings: SettingsDep, _admin: AdminKey) -> dict[str, Any]:
    return {
        "documents_retention_days": settings.documents_retention_days,
        "job_retention_s": settings.job_retention_s,
    }


@router.post("/retention/purge")
async def purge_retention(
    settings: SettingsDep,
    store: StoreDep,
    redis: RedisDep,
    _admin: AdminKey,
    body: PurgeIn | None = None,
) -> dict[str, Any]:
    """The scheduled retention purge, now: documents per source (0 = keep forever) and job
    records (``service.scheduler.retention``); counts of what was removed."""
    body = body or PurgeIn()
    return await retention.purge(settings, store, redis, dry_run=body.dry_run, as_of=body.as_of)


class ProbeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2_000)


@router.post("/egress/probe")
async def probe_egress(
    settings: SettingsDep, redis: RedisDep, _admin: AdminKey, body: ProbeIn
) -> dict[str, Any]:
    """Try `url` through the platform's outbound client; report refused / reached / error."""
    client = OutboundClient(settings, redis)
    try:
        response = await client.get(
            body.url, destination="egress-probe", retry_on_429=False, max_bytes=64 * 1024
        )
    except EgressRefused as exc:
        return {"outcome": "refused", "reason": exc.reason, "url": exc.url}
    except OutboundError as exc:
        return {"outcome": "error", "reason": str(exc)[:300]}
    finally:
        await client.aclose()
    return {
        "outcome": "reached",
        "status": response.status_code,
        "redirects": response.redirects,
        "url": str(response.url),
    }
