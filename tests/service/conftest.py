"""Fixtures of the API's tests: the real app plus probe routes, served over loopback HTTP.

The probe routes (an authenticated route, a strict body model, a crash) let the cross-cutting
behaviour be tested without depending on the job routes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from service.app import create_app
from service.deps import ApiKey
from tests.support.api import LiveServer, api_settings

probe = APIRouter(prefix="/_probe")
probe_logger = logging.getLogger("platform.probe")


class EchoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int = 0


@probe.get("/whoami")
async def read_whoami(principal: ApiKey) -> dict[str, Any]:
    probe_logger.info("whoami called")
    return {"key_id": principal.key_id, "is_admin": principal.is_admin}


@probe.post("/echo")
async def create_echo(body: EchoIn) -> EchoIn:
    return body


@probe.get("/boom")
async def read_boom() -> None:
    raise RuntimeError("kaboom: internal detail")


StartApi = Callable[..., LiveServer]


@pytest.fixture
def start_api(
    redis_server: str, tmp_path: Path, serve: Callable[..., LiveServer]
) -> Iterator[StartApi]:
    """Factory: `start_api(**settings_overrides)` -> a LiveServer on a flushed datastore."""

    def start(**overrides: Any) -> LiveServer:
        client = redis.Redis.from_url(redis_server, socket_timeout=5)
        try:
            client.flushdb()
        finally:
            client.close()
        settings = api_settings(redis_server, tmp_path, **overrides)
        app = create_app(settings)
        app.include_router(probe)
        return serve(app, settings)

    yield start


@pytest.fixture
def api(start_api: StartApi) -> LiveServer:
    """The app with default test settings."""
    return start_api()


@pytest.fixture
def http(api: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=10) as client:
        yield client
