"""The per-destination gate under concurrency: the robots emulator (a real subprocess on a real
socket) answers 429 + Retry-After, several outbound clients (each with its own Redis connection
and no shared memory, as separate processes would be) fire at it at once, and the emulator's
request log says what reached the wire and when."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis

from service.keyspace import keys as c
from service.outbound.client import DestinationBusyError, OutboundClient
from tests.support.api import api_settings
from tests.support.emulators import Emulator, running_emulator

RETRY_AFTER_S = 1
# The emulator stamps arrival on its wall clock and measures the answer on its monotonic one:
# allow a few milliseconds between "the 429 was written" and "the next request arrived".
CLOCK_SLACK_S = 0.02


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator("robots", tmp_path_factory.mktemp("robots")) as emulator:
        yield emulator


def _limit_once(hub: Emulator) -> None:
    """Fresh log; the next /models/ request is answered 429 with Retry-After."""
    hub.admin.post("/_emulator/reset").raise_for_status()
    fault = {"status": 429, "retry_after_s": RETRY_AFTER_S, "count": 1, "path_prefix": "/models/"}
    hub.admin.post("/_emulator/faults", json=fault).raise_for_status()


@contextlib.asynccontextmanager
async def _clients(
    redis_url: str, tmp_path: Path, hub: Emulator, n: int, **extra: Any
) -> AsyncIterator[list[OutboundClient]]:
    """``n`` outbound clients, each with its own Redis connection (as separate processes)."""
    port = httpx.URL(hub.url).port
    settings = api_settings(redis_url, tmp_path, egress_allowlist=[f"127.0.0.1:{port}"], **extra)
    connections = [aioredis.Redis.from_url(redis_url, decode_responses=True) for _ in range(n)]
    clients = [OutboundClient(settings, connection) for connection in connections]
    try:
        yield clients
    finally:
        for client, connection in zip(clients, connections, strict=True):
            await client.aclose()
            await connection.aclose()


def _pages(hub: Emulator) -> list[dict[str, Any]]:
    records = [r for r in hub.requests() if r["path"].startswith("/models/")]
    return sorted(records, key=lambda r: float(r["time"]))


def _end(record: dict[str, Any]) -> float:
    return float(record["time"]) + float(record["duration_ms"]) / 1000


def test_concurrent_requests_wait_for_the_reset(
    redis_server: str, tmp_path: Path, hub: Emulator
) -> None:
    """Nine requests from three clients at once: one is answered 429, none reaches the site
    before Retry-After has passed, and no two are ever on the wire together."""
    redis.Redis.from_url(redis_server).flushdb()
    _limit_once(hub)

    async def go() -> list[int]:
        async with _clients(redis_server, tmp_path, hub, 3) as clients:
            calls = [
                client.get(f"{hub.url}/models/burst-{i}-{j}", destination="hub")
                for i, client in enumerate(clients)
                for j in range(3)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(go())
    pages = _pages(hub)
    limited = [r for r in pages if r["status"] == 429]
    assert statuses == [200] * 9, statuses  # the limited call retried after the reset
    assert len(limited) == 1 and len(pages) == 10, [r["status"] for r in pages]
    signal = _end(limited[0])
    early = [
        round(float(r["time"]) - signal, 3)
        for r in pages
        if float(r["time"]) > signal and float(r["time"]) < signal + RETRY_AFTER_S
    ]
    assert not early, f"requests {early} s after the 429, before its Retry-After"
    overlaps = [
        (a["path"], b["path"])
        for a, b in pairwise(pages)
        if float(b["time"]) < _end(a) - CLOCK_SLACK_S
    ]
    assert not overlaps, f"two requests on the wire at once: {overlaps}"


def test_local_state_lets_another_process_through(
    redis_server: str, tmp_path: Path, hub: Emulator
) -> None:
    """outbound_rate_state=local (the fault the check must catch): a second client does not
    know about the first one's 429 and calls before the reset."""
    redis.Redis.from_url(redis_server).flushdb()
    _limit_once(hub)

    async def go() -> None:
        async with _clients(redis_server, tmp_path, hub, 2, outbound_rate_state="local") as pair:
            first, second = pair
            await first.get(f"{hub.url}/models/local-a", destination="hub", retry_on_429=False)
            await second.get(f"{hub.url}/models/local-b", destination="hub")

    asyncio.run(go())
    limited, after = _pages(hub)
    assert limited["status"] == 429
    assert float(after["time"]) - _end(limited) < RETRY_AFTER_S


def test_destination_held_too_long_raises_busy(
    redis_server: str, tmp_path: Path, hub: Emulator
) -> None:
    """A destination whose one connection stays taken past the bound fails fast, sends nothing."""
    redis.Redis.from_url(redis_server).flushdb()
    hub.admin.post("/_emulator/reset").raise_for_status()
    port = httpx.URL(hub.url).port
    held = redis.Redis.from_url(redis_server)
    held.set(f"{c.OUTBOUND_INFLIGHT_PREFIX}127.0.0.1:{port}", "other-process", px=10_000)
    timeouts = {
        "outbound_max_rate_wait_s": 0.1,
        "outbound_connect_timeout_s": 0.2,
        "outbound_read_timeout_s": 0.2,
    }

    async def go() -> BaseException | None:
        async with _clients(redis_server, tmp_path, hub, 1, **timeouts) as (client,):
            try:
                await client.get(f"{hub.url}/models/busy", destination="hub")
            except DestinationBusyError as exc:
                return exc
        return None

    assert isinstance(asyncio.run(go()), DestinationBusyError)
    assert _pages(hub) == []
    held.close()
