"""The FastAPI application factory: ``uvicorn service.app:create_app --factory``.

Everything per-app (settings, Redis client, rate limiter) hangs on ``app.state`` and is opened in
the lifespan, so tests can run several apps with their own `Settings` in one process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from service import SCHEMA_VERSION, __version__
from service.errors import install_error_handlers
from service.gateway.core import Gateway
from service.http import metrics
from service.http.middleware import BodyLimitMiddleware, RequestContextMiddleware
from service.http.overload import InFlightLimitMiddleware
from service.keyspace.keys import SCHEMA_KEY
from service.logs import configure_logging
from service.routers import (
    admin,
    admin_documents,
    admin_jobs,
    admin_outbound,
    chat,
    diagnostics,
    documents,
    health,
    ingest_admin,
    jobs,
    search,
    version,
    webhooks,
)
from service.scheduler import metrics as scheduler_metrics
from service.scheduler import state as schedule_state
from service.scheduler.schedules import schedules
from service.security.rate_limits import RateLimiter
from service.settings import Settings, get_settings

logger = logging.getLogger("platform.app")

# Redis timeouts of the API's client: requests must fail fast rather than hang on a stuck
# datastore (the API issues no blocking commands, so 5 s is far above any normal reply).
REDIS_CONNECT_TIMEOUT_S = 2.0
REDIS_SOCKET_TIMEOUT_S = 5.0
# Startup must not wait on a hung datastore: health reports a missing schema mark meanwhile.
SCHEMA_MARK_TIMEOUT_S = 1.0

CORS_METHODS = ["GET", "POST", "OPTIONS"]
CORS_HEADERS = ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID", "Idempotency-Key"]
CORS_EXPOSE = [
    "X-Request-ID",
    "X-Provider",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]


async def _mark_schema(client: aioredis.Redis) -> None:
    """Record the datastore schema version once (SET NX): a later API compares, never overwrites."""
    try:
        async with asyncio.timeout(SCHEMA_MARK_TIMEOUT_S):
            await client.set(SCHEMA_KEY, SCHEMA_VERSION, nx=True)
    except Exception as exc:  # Redis may come up after the API; health reports it meanwhile
        logger.warning("could not record the schema version: %s", type(exc).__name__)


async def _declare_schedules(client: aioredis.Redis, settings: Settings) -> None:
    """Mark the enabled schedules as expected (kept if marked before): a deployment whose
    scheduled jobs never run then shows them overdue, not merely "not run yet"."""
    try:
        async with asyncio.timeout(SCHEMA_MARK_TIMEOUT_S):
            await schedule_state.declare(client, [s.name for s in schedules(settings) if s.enabled])
    except Exception as exc:  # as above: health reports Redis trouble
        logger.warning("could not declare the schedules: %s", type(exc).__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    client = aioredis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )
    limiter = RateLimiter(settings.redis_url, settings.rate_limit_lease)
    app.state.redis = client
    app.state.rate_limiter = limiter
    await _mark_schema(client)
    await _declare_schedules(client, settings)
    scheduler_metrics.COLLECTOR.bind(settings)
    gateway: Gateway = app.state.gateway
    await gateway.start()
    logger.info(
        "api started",
        extra={"version": __version__, "environment": settings.environment},
    )
    try:
        yield
    finally:
        await gateway.aclose()
        await limiter.aclose()
        await client.aclose()
        logger.info("api stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API around `settings` (default: from the environment) and set up its logging."""
    settings = settings or get_settings()
    configure_logging(settings, "app")
    docs = settings.docs_enabled
    app = FastAPI(
        title="preflight reference platform",
        version=__version__,
        lifespan=lifespan,
        debug=False,  # never render tracebacks to clients, whatever settings.debug says
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.gateway = Gateway(settings.providers, settings.chat_routes, settings.gateway)
    install_error_handlers(app)
    routers = (health, version, admin, jobs, admin_jobs, diagnostics, chat)
    ingestion = (search, documents, admin_documents, webhooks, ingest_admin, admin_outbound)
    for module in (*routers, *ingestion):
        app.include_router(module.router)
    if settings.metrics_enabled:
        app.include_router(metrics.router)

    # add_middleware prepends: the last added is outermost. Order (outer -> inner): request
    # context (so every answer, CORS preflights, 503s and 413s included, has a request id and an
    # access record), CORS (preflights answered without a slot; a 503 readable by the browser),
    # the in-flight limit (before any work of the request), body limit.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        InFlightLimitMiddleware,
        max_in_flight=settings.max_in_flight,
        retry_after_s=settings.overload_retry_after_s,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_credentials=settings.cors_allow_credentials,
        allow_methods=CORS_METHODS,
        allow_headers=CORS_HEADERS,
        expose_headers=CORS_EXPOSE,
    )
    app.add_middleware(
        RequestContextMiddleware,
        hsts_max_age_s=settings.hsts_max_age_s,
        access_log=settings.access_log_enabled,
        log_request_bodies=settings.log_request_bodies,
    )
    return app
