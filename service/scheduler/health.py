"""The ``scheduler`` component of ``/health``: every schedule's last run, age and judgement.

Degraded when the scheduler is switched off (backups and the purge then never run) or when an
enabled schedule is not ok: overdue, or its last run failed or was lost (``service.scheduler.
view``). One pipelined round trip reads Redis's clock and every schedule's record.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from service.documents.metrics import timed
from service.scheduler import state
from service.scheduler.schedules import NAMES
from service.scheduler.view import views
from service.settings import Settings


async def scheduler_component(settings: Settings, redis: Redis) -> dict[str, Any]:
    now, records = await timed("schedules", lambda: state.read_all(redis, NAMES))
    judged = views(settings, now, records)
    not_ok = [v.schedule.name for v in judged if v.schedule.enabled and not v.ok]
    healthy = settings.scheduler_enabled and not not_ok
    return {
        "status": "ok" if healthy else "degraded",
        "enabled": settings.scheduler_enabled,
        "tick_s": settings.scheduler_tick_s,
        "overdue_factor": settings.scheduler_overdue_factor,
        "run_timeout_s": settings.scheduler_run_timeout_s,
        "not_ok": not_ok,
        "schedules": {v.schedule.name: v.as_health() for v in judged},
    }
