"""Health routes: `/health` (full status), `/health/live`, `/health/ready`.

Each component check runs concurrently under its own short timeout, so the answer comes within a
fixed deadline even when Redis hangs; a failing component makes the status "degraded", never an
exception. `/health` is 200 while the process runs (it *reports*); `/health/ready` is 503 unless
every component is ok (it *gates* traffic).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service import SCHEMA_VERSION, __version__
from service.deps import RedisDep, SettingsDep
from service.documents.metrics import timed
from service.documents.status import documents_component
from service.gateway.core import Gateway
from service.ingest.health import ingestion_component
from service.jobs.heartbeat import WorkerInfo, list_workers
from service.jobs.queue import queue_depths
from service.keyspace.keys import SCHEMA_KEY
from service.routers.chat import GatewayDep
from service.scheduler.health import scheduler_component
from service.settings import Settings

router = APIRouter(prefix="/health", tags=["health"])

# Per-component budget: the whole answer stays under ~1 s plus overhead whatever hangs.
CHECK_TIMEOUT_S = 1.0
# A worker whose last beat is older than this many intervals is counted stale (not alive).
STALE_INTERVALS = 2.0

Check = dict[str, Any]
T = TypeVar("T")


async def _bounded(make: Callable[[], Awaitable[T]]) -> T | Exception:
    """Run a check under the timeout; its exception (or the timeout) is returned, not raised."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return await make()
    except Exception as exc:
        return exc


def _failure(exc: Exception) -> str:
    return "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__


async def _ping(redis: RedisDep) -> float:
    started = time.perf_counter()
    await redis.ping()
    return round((time.perf_counter() - started) * 1000, 3)


async def _datastore_schema(redis: RedisDep) -> int | None:
    value = await redis.get(SCHEMA_KEY)
    return int(value) if value is not None else None


def _disk(settings: Settings) -> Check:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(settings.data_dir)
    ratio = usage.free / usage.total if usage.total else 0.0
    return {
        "status": "ok" if ratio >= settings.disk_min_free_ratio else "degraded",
        "path": str(settings.data_dir.resolve()),
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "free_ratio": round(ratio, 4),
        "min_free_ratio": settings.disk_min_free_ratio,
    }


def _queues(settings: Settings, depths: dict[str, int] | Exception) -> Check:
    check: Check = {
        "limits": dict(settings.queue_max_length),
        "thresholds": dict(settings.queue_depth_warn),
    }
    if isinstance(depths, Exception):
        return {"status": "degraded", "depths": None, "error": _failure(depths), **check}
    over = [
        name
        for name, depth in depths.items()
        if name in settings.queue_depth_warn and depth > settings.queue_depth_warn[name]
    ]
    return {"status": "degraded" if over else "ok", "depths": depths, "over": over, **check}


def _workers(settings: Settings, workers: list[WorkerInfo] | Exception) -> Check:
    check: Check = {
        "min": settings.workers_min,
        "heartbeat_interval_s": settings.worker_heartbeat_s,
    }
    if isinstance(workers, Exception):
        return {"status": "down", "alive": 0, "workers": [], "error": _failure(workers), **check}
    stale_after = STALE_INTERVALS * settings.worker_heartbeat_s
    alive = [w for w in workers if w.age_s <= stale_after]
    enough = len(alive) >= settings.workers_min
    status = "ok" if enough else ("degraded" if alive else "down")
    listed = [
        {
            "id": w.id,
            "pid": w.pid,
            "age_s": round(w.age_s, 3),
            "version": w.version,
            "schema_version": w.schema_version,
            "jobs_done": w.jobs_done,
            "stale": w.age_s > stale_after,
        }
        for w in workers
    ]
    return {"status": status, "alive": len(alive), "workers": listed, **check}


def _schema(datastore: int | Exception | None, workers: list[WorkerInfo] | Exception) -> Check:
    worker_versions = (
        {} if isinstance(workers, Exception) else {w.id: w.schema_version for w in workers}
    )
    store = None if isinstance(datastore, Exception) else datastore
    agree = store == SCHEMA_VERSION and all(v == SCHEMA_VERSION for v in worker_versions.values())
    return {
        "status": "ok" if agree else "degraded",
        "api": SCHEMA_VERSION,
        "datastore": store,
        "workers": worker_versions,
    }


async def health_report(
    settings: Settings, redis: RedisDep, gateway: Gateway | None = None
) -> dict[str, Any]:
    """The `/health` body of docs/DESIGN.md, each component checked concurrently."""
    # The document store and ingestion checks run alongside the others, within the same budget.
    documents_task = asyncio.ensure_future(_bounded(lambda: documents_component(settings, redis)))
    ingestion_task = asyncio.ensure_future(_bounded(lambda: ingestion_component(settings, redis)))
    scheduler_task = asyncio.ensure_future(_bounded(lambda: scheduler_component(settings, redis)))
    ping, depths, workers, datastore, disk = await asyncio.gather(
        _bounded(lambda: timed("ping", lambda: _ping(redis))),
        _bounded(lambda: timed("queue_depths", lambda: queue_depths(redis))),
        _bounded(lambda: timed("workers", lambda: list_workers(redis, settings))),
        _bounded(lambda: timed("schema", lambda: _datastore_schema(redis))),
        _bounded(lambda: asyncio.to_thread(_disk, settings)),
    )
    documents = await documents_task
    ingestion = await ingestion_task
    scheduler = await scheduler_task
    redis_check: Check = (
        {"status": "down", "error": _failure(ping), "latency_ms": None}
        if isinstance(ping, Exception)
        else {"status": "ok", "latency_ms": ping}
    )
    disk_check: Check = (
        {"status": "degraded", "path": str(settings.data_dir), "error": _failure(disk)}
        if isinstance(disk, Exception)
        else disk
    )
    components = {
        "redis": redis_check,
        "queues": _queues(settings, depths),
        "workers": _workers(settings, workers),
        "disk": disk_check,
        "schema": _schema(datastore, workers),
        "ingestion": (
            {"status": "degraded", "error": _failure(ingestion)}
            if isinstance(ingestion, Exception)
            else ingestion
        ),
        "documents": (
            {"status": "degraded", "error": _failure(documents)}
            if isinstance(documents, Exception)
            else documents
        ),
        "scheduler": (
            {"status": "degraded", "error": _failure(scheduler)}
            if isinstance(scheduler, Exception)
            else scheduler
        ),
    }
    if gateway is not None and gateway.providers:  # no LLM providers configured: no component
        components["providers"] = gateway.health()
    healthy = all(c["status"] == "ok" for c in components.values())
    return {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "environment": settings.environment,
        "checked_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "components": components,
    }


@router.get("")
async def read_health(
    settings: SettingsDep, redis: RedisDep, gateway: GatewayDep
) -> dict[str, Any]:
    """Full status; 200 whenever the process can answer, `status` says whether all is well."""
    return await health_report(settings, redis, gateway)


@router.get("/live")
async def read_liveness() -> dict[str, str]:
    """The process is up and its event loop answers; nothing else is checked."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "a component is not ok"}})
async def read_readiness(
    settings: SettingsDep, redis: RedisDep, gateway: GatewayDep
) -> JSONResponse:
    """Same body as `/health`, but 503 unless every component is ok (for load balancers)."""
    report = await health_report(settings, redis, gateway)
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)
