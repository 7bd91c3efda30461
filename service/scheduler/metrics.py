"""``platform_scheduled_job_*`` for Prometheus, read from the schedules' records at scrape time.

The runs happen in workers and the poller, which expose no port, so (as for the job metrics) the
API's collector reads their records from Redis on each scrape with a short-timeout client. The
label is ``schedule``, not ``job``: Prometheus attaches its own ``job`` label to every scraped
series, and an exposed ``job`` would be renamed ``exported_job`` on the way in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import redis
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from service.keyspace import keys as c
from service.scheduler.schedules import NAMES
from service.scheduler.state import parse_records
from service.scheduler.view import FAILED_OUTCOMES, ScheduleView, views
from service.settings import Settings

log = logging.getLogger("service.scheduler")
SCRAPE_TIMEOUT_S = 1.0
Gauge = Callable[[ScheduleView], float]
GAUGES: dict[str, tuple[str, Gauge]] = {
    "last_success_timestamp_seconds": (
        "When the schedule's last successful run ended (epoch s; 0: never).",
        lambda v: v.ts("last_success_at") or 0.0,
    ),
    "last_run_timestamp_seconds": (
        "When the schedule's last run started (epoch s; 0: never).",
        lambda v: v.ts("started_at") or 0.0,
    ),
    "last_duration_seconds": (
        "How long the schedule's last finished run took.",
        lambda v: v.ts("duration_s") or 0.0,
    ),
    "last_run_ok": (
        "1 unless the last finished run failed or was lost.",
        lambda v: 0.0 if v.outcome in FAILED_OUTCOMES else 1.0,
    ),
    "period_seconds": (
        "How often the schedule is configured to run.",
        lambda v: v.schedule.period_s,
    ),
    "overdue": (
        "1 when the schedule's next run is later than its period allows.",
        lambda v: float(v.overdue),
    ),
    "enabled": ("1 when the schedule is configured to run.", lambda v: float(v.schedule.enabled)),
}


class SchedulerCollector(Collector):
    def __init__(self) -> None:
        self._client: redis.Redis | None = None
        self._settings: Settings | None = None

    def bind(self, settings: Settings) -> None:
        """Point the collector at this app's datastore and schedules (the API's, at startup)."""
        if self._settings is None or settings.redis_url != self._settings.redis_url:
            self._client = redis.Redis.from_url(
                settings.redis_url,
                decode_responses=True,
                socket_timeout=SCRAPE_TIMEOUT_S,
                socket_connect_timeout=SCRAPE_TIMEOUT_S,
            )
        self._settings = settings

    def collect(self) -> Iterator[Metric]:
        if self._client is None or self._settings is None:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.time()
            for name in NAMES:
                pipe.hgetall(c.schedule_key(name))
            replies = pipe.execute()
        except redis.RedisError as exc:
            log.warning("scheduler metrics unavailable: %s", type(exc).__name__)
            return
        judged = views(self._settings, *parse_records(list(NAMES), replies))
        for field, (doc, value) in GAUGES.items():
            gauge = GaugeMetricFamily(f"platform_scheduled_job_{field}", doc, labels=["schedule"])
            for view in judged:
                gauge.add_metric([view.schedule.name], value(view))
            yield gauge
        for field, doc in (
            ("runs", "Runs started, per schedule."),
            ("failures", "Runs that failed or were lost, per schedule."),
        ):
            counter = CounterMetricFamily(
                f"platform_scheduled_job_{field}", doc, labels=["schedule"]
            )
            for view in judged:
                counter.add_metric([view.schedule.name], float(view.record.get(field) or 0))
            yield counter


COLLECTOR = SchedulerCollector()
REGISTRY.register(COLLECTOR)
