"""HTTP and security metrics of the API, on prometheus_client's default registry.

Labels are bounded on purpose: `route` is the route template (``/status/{job_id}``), never the raw
path, so a scan of random URLs cannot explode the series count; unmatched paths share one label.
Job metrics live with the queue code, which registers them on the same default registry.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

UNMATCHED_ROUTE = "unmatched"

HTTP_REQUESTS = Counter(
    "platform_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "platform_http_request_duration_seconds",
    "Time from request start to the last response byte, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HTTP_IN_FLIGHT = Gauge(
    "platform_http_requests_in_flight",
    "Requests being served that count against max_in_flight (health routes and /metrics not).",
)
HTTP_IN_FLIGHT_LIMIT = Gauge(
    "platform_http_in_flight_limit",
    "max_in_flight of this process: requests beyond it are shed with 503 (0: no limit).",
)
HTTP_SHED = Counter(
    "platform_http_requests_shed_total",
    "Requests answered 503 overloaded_error by the in-flight limit, by route template.",
    ["route"],
)
# Which process answered a scrape. Behind a balancing ingress each read of /metrics is one
# process's; process_start_time_seconds cannot tell processes started in the same clock tick
# apart, so each process draws an id when it starts (one series per process, no pid: an id
# reveals nothing about the host).
PROCESS = Info(
    "platform_process",
    "This API process: an id drawn when it started, to tell processes apart behind a balancer.",
)
PROCESS.info({"id": uuid.uuid4().hex[:16]})
SECURITY_EVENTS = Counter(
    "platform_security_events_total",
    "Security-relevant events: auth failures, forbidden access, rate-limit hits, oversize bodies.",
    ["event"],
)

router = APIRouter(tags=["ops"])


def observe_request(method: str, route: str, status: int, duration_s: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_DURATION.labels(method=method, route=route).observe(duration_s)


def security_event(event: str) -> None:
    SECURITY_EVENTS.labels(event=event).inc()


@router.get("/metrics", include_in_schema=False)
def read_metrics() -> Response:
    """Prometheus text exposition of the default registry (includes job metrics)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
