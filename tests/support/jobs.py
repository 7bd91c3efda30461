"""Helpers of the job system's tests: settings, clients, in-process workers.

Plain functions and context managers, not fixtures: a test builds the settings it needs (short
heartbeats, no jitter) and a fixture imported into a test module is a name-shadowing trap.
Waiting is `service.waiting`'s, like everywhere else.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import redis
from redis.asyncio import Redis

from service.jobs.worker import Worker
from service.settings import Settings

KEY_API = "k" * 32
KEY_ADMIN = "a" * 32
OVERRIDDEN = (
    "redis_url",
    "environment",
    "retry_base_s",
    "retry_max_s",
    "retry_jitter",
    "worker_heartbeat_s",
    "job_visibility_timeout_s",
    "worker_concurrency",
    "job_max_attempts",
    "worker_shutdown_grace_s",
    "scheduler_enabled",
)


def make_job_settings(redis_url: str, **overrides: Any) -> Settings:
    """Fast, deterministic settings: short heartbeats and backoffs, no jitter, no scheduler."""
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "environment": "local",
        "api_keys": {"ci": KEY_API},
        "admin_keys": {"ops": KEY_ADMIN},
        "retry_base_s": 0.2,
        "retry_max_s": 2.0,
        "retry_jitter": 0.0,
        "worker_heartbeat_s": 0.3,
        "job_visibility_timeout_s": 30.0,
        "worker_concurrency": 2,
        "job_max_attempts": 3,
        "worker_shutdown_grace_s": 0.5,
        # Job tests watch the queue: no backup or purge of the scheduler runs beside their jobs.
        "scheduler_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The PLATFORM_* environment that reproduces ``settings`` in a worker subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    for name in OVERRIDDEN:
        env[f"PLATFORM_{name.upper()}"] = str(getattr(settings, name))
    env["PLATFORM_API_KEYS"] = json.dumps({"ci": KEY_API})
    env["PLATFORM_ADMIN_KEYS"] = json.dumps({"ops": KEY_ADMIN})
    return env


def fresh_settings(redis_server: str, **overrides: Any) -> Settings:
    """Settings on the session's Valkey after flushing its database (tests share the server)."""
    client = redis.Redis.from_url(redis_server)
    try:
        client.flushdb()
    finally:
        client.close()
    return make_job_settings(redis_server, **overrides)


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def running_worker(
    redis_client: Redis, settings: Settings, worker_id: str = "w-test"
) -> AsyncIterator[Worker]:
    """A worker in this event loop, stopped (SIGTERM path) on exit."""
    worker = Worker(redis_client, settings, worker_id)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stopping.set()
        await asyncio.wait_for(task, 10)


@contextmanager
def worker_thread(settings: Settings, worker_id: str = "w-thread") -> Iterator[Worker]:
    """A worker on its own event loop in a thread, for synchronous (HTTP) tests; stopped on exit."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        async with connect(settings) as client:
            worker = Worker(client, settings, worker_id)
            holder["worker"], holder["loop"] = worker, asyncio.get_running_loop()
            ready.set()
            await worker.run()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name=worker_id, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("worker thread did not start")
    worker: Worker = holder["worker"]
    try:
        yield worker
    finally:
        holder["loop"].call_soon_threadsafe(worker.stopping.set)
        thread.join(10)
