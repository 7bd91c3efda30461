"""robots.txt: rules obeyed, cached per origin, RFC 9309 answers for 4xx/5xx."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from service.emulators.robots import ROBOTS_TXT
from service.ingest import robots
from service.keyspace import keys as c
from service.outbound import request_log
from service.settings import Settings


@dataclass
class FakeResponse:
    status_code: int
    text: str = ""


@dataclass
class FakeOutbound:
    status: int = 200
    body: str = ROBOTS_TXT
    calls: list[str] = field(default_factory=list)

    async def get(self, url: str, **_: Any) -> FakeResponse:
        self.calls.append(url)
        return FakeResponse(self.status, self.body)


def _check(redis_url: str, url: str, outbound: FakeOutbound, **extra: Any) -> bool:
    settings = Settings(
        api_keys={"a": SecretStr("k" * 30)}, admin_keys={"b": SecretStr("m" * 30)}, **extra
    )

    async def go() -> bool:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await robots.allowed(settings, client, outbound, url)  # type: ignore[arg-type]  # fake client
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.fixture
def clean(redis_server: str) -> str:
    async def flush() -> None:
        client = aioredis.Redis.from_url(redis_server)
        async for key in client.scan_iter(match=c.ROBOTS_PREFIX + "*"):
            await client.delete(key)
        await client.aclose()

    asyncio.run(flush())
    return redis_server


def test_disallowed_and_allowed(clean: str) -> None:
    outbound = FakeOutbound()
    assert not _check(clean, "http://hub.test/private/x", outbound)
    assert not _check(clean, "http://hub.test/models/gated-llm", outbound)
    assert _check(clean, "http://hub.test/models/open", outbound)
    assert outbound.calls == ["http://hub.test/robots.txt"], "robots.txt fetched once, cached"


def test_missing_robots_allows_all(clean: str) -> None:
    assert _check(clean, "http://hub.test/private/x", FakeOutbound(status=404))


def test_server_error_disallows_all(clean: str) -> None:
    assert not _check(clean, "http://hub.test/models/open", FakeOutbound(status=503))


def test_robots_ignored_when_setting_off(clean: str) -> None:
    outbound = FakeOutbound()
    assert _check(clean, "http://hub.test/private/x", outbound, robots_obey=False)
    assert outbound.calls == []


def test_decisions_recorded_for_the_outbound_route(redis_server: str) -> None:
    """Each decision lands in the destination's outbound record (GET /admin/outbound/requests)."""
    outbound = FakeOutbound()
    _check(redis_server, "https://decided.example/private/x", outbound)
    _check(redis_server, "https://decided.example/models/open", outbound)

    async def read() -> dict[str, Any]:
        client = aioredis.Redis.from_url(redis_server, decode_responses=True)
        try:
            return await request_log.read(client, 0.0, 10)
        finally:
            await client.aclose()

    decided = [e for e in asyncio.run(read())["decided.example:443"] if e["kind"] == "robots"]
    assert [(e["path"], e["allowed"]) for e in decided][-2:] == [
        ("/private/x", False),
        ("/models/open", True),
    ]
