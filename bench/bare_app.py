"""The baseline for bench/http_rps.py: the least a FastAPI app can do for the same two routes.

/health answers a constant; /status/{job_id} reads one Redis hash, as the real route does at
its core, without auth, rate limits, middleware, logs or metrics. The ratio of the platform's
requests per second to this app's is the cost of everything the platform adds.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI, HTTPException


def create_app() -> FastAPI:
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")  # bench-only process
    state: dict[str, aioredis.Redis] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state["redis"] = aioredis.Redis.from_url(url, decode_responses=True)
        yield
        await state["redis"].aclose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def read_health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/status/{job_id}")
    async def read_status(job_id: str) -> dict[str, str]:
        record = await state["redis"].hgetall(f"bench:job:{job_id}")
        if not record:
            raise HTTPException(404)
        return {str(k): str(v) for k, v in record.items()}

    return app
