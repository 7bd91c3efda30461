"""service/http/overload.py over HTTP: the in-flight limit, its 503, its exemptions and metrics.

A held stream (a route that sends one chunk, then waits for the test to release it) fills the
only slot of an app with ``max_in_flight=1``, so what happens at the limit is deterministic.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from service.app import create_app
from service.deps import ApiKey
from service.waiting import poll_until
from tests.support.api import KEYS, LiveServer, api_settings

# Longest a held stream waits for its release: a failing test must not hang the server thread.
HOLD_MAX_S = 10.0
STATUS = "/status/" + "0" * 32

held = APIRouter(prefix="/_held")


@held.get("/stream")
async def read_held_stream(request: Request) -> StreamingResponse:
    gate: threading.Event = request.app.state.gate

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first\n"
        await asyncio.to_thread(gate.wait, HOLD_MAX_S)
        yield b"last\n"

    return StreamingResponse(chunks(), media_type="text/plain")


@held.get("/work")
async def read_work(request: Request, principal: ApiKey) -> dict[str, str]:
    request.app.state.work_done += 1
    return {"key_id": principal.key_id}


class Held:
    """A served app with a gate for its held streams."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.gate: threading.Event = live.app.state.gate

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {KEYS[key]}"} if key else {}
        return httpx.Client(base_url=self.live.url, timeout=10, headers=headers)


@pytest.fixture
def start_held(
    redis_server: str, tmp_path: Path, serve: Callable[..., LiveServer]
) -> Iterator[Callable[..., Held]]:
    """Factory: the real app plus the held routes, on a flushed datastore; gates opened at end."""
    gates: list[threading.Event] = []

    def start(**overrides: Any) -> Held:
        store = redis.Redis.from_url(redis_server, socket_timeout=5)
        try:
            store.flushdb()
        finally:
            store.close()
        settings = api_settings(redis_server, tmp_path, **overrides)
        app = create_app(settings)
        app.include_router(held)
        app.state.gate = threading.Event()
        app.state.work_done = 0
        gates.append(app.state.gate)
        return Held(serve(app, settings))

    try:
        yield start
    finally:
        for gate in gates:
            gate.set()


def _metric(text: str, line_start: str) -> float:
    values = [
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start)
    ]
    assert values, f"no {line_start!r} in /metrics"
    return values[0]


@contextmanager
def holding(app: Held) -> Iterator[None]:
    """Within the block one held stream is in flight; then it is released and read to its end."""
    with app.client() as http, http.stream("GET", "/_held/stream") as stream:
        chunks = stream.iter_bytes()  # kept in a name: a dropped iterator closes the stream
        assert next(chunks) == b"first\n"
        try:
            yield
        finally:
            app.gate.set()
        assert b"".join(chunks) == b"last\n"


def test_stream_holds_the_slot_until_its_end(start_held: Callable[..., Held]) -> None:
    """A stream counts as in flight until its last chunk; meanwhile others get the 503, after it
    they are served again."""
    app = start_held(max_in_flight=1)
    with app.client() as other:
        with holding(app):
            refused = other.get("/version", headers={"X-Request-ID": "shed-1"})
            metrics = other.get("/metrics").text
        served = other.get("/version")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-request-id"] == "shed-1"
    error = refused.json()["error"]
    assert (error["type"], error["code"], error["request_id"]) == (
        "overloaded_error",
        "overloaded",
        "shed-1",
    )
    assert _metric(metrics, "platform_http_requests_in_flight ") == 1.0
    assert _metric(metrics, "platform_http_in_flight_limit ") == 1.0
    assert _metric(metrics, 'platform_http_requests_shed_total{route="/version"}') >= 1.0
    assert served.status_code == 200
    record = app.live.wait_for_record("access", lambda r: r["request_id"] == "shed-1")
    assert (record["status"], record["route"]) == (503, "/version")


def test_probes_answer_during_overload(start_held: Callable[..., Held]) -> None:
    """Health, liveness, readiness and /metrics are neither counted nor shed."""
    app = start_held(max_in_flight=1)
    with app.client() as probe, holding(app):
        answers = {p: probe.get(p) for p in ("/health", "/health/live", "/health/ready")}
        metrics = probe.get("/metrics")
        shed = probe.get("/version").status_code
    assert shed == 503
    assert metrics.status_code == 200
    # Readiness may be 503 (a degraded component) but answers with its health body, not shedding.
    bodies = {p: r.json() for p, r in answers.items()}
    assert all("error" not in body and "status" in body for body in bodies.values()), bodies
    assert answers["/health/live"].status_code == 200 and answers["/health"].status_code == 200


def test_shed_request_does_no_work(start_held: Callable[..., Held]) -> None:
    """A shed request runs neither the route nor the rate limit (no Redis): the key's budget
    and the route's counter move only for requests that were served."""
    app = start_held(max_in_flight=1, rate_limit="100/minute")
    with app.client("ci") as keyed:
        before = keyed.get("/_held/work")
        with holding(app):
            refused = [keyed.get("/_held/work").status_code for _ in range(5)]
            refused.append(keyed.get(STATUS).status_code)
        after = keyed.get("/_held/work")
    assert refused == [503] * 6
    assert app.live.app.state.work_done == 2
    spent = [int(r.headers["ratelimit-remaining"]) for r in (before, after)]
    assert spent[0] - spent[1] == 1, spent


def test_shedding_logged_once_per_interval(start_held: Callable[..., Held]) -> None:
    """A burst of refusals leaves one WARNING record (with its count), not one per request."""
    app = start_held(max_in_flight=1)
    with app.client() as other, holding(app):
        statuses = [other.get("/version").status_code for _ in range(5)]
    assert statuses == [503] * 5
    records = [r for r in app.live.log_records("app") if r.get("event") == "overloaded"]
    assert len(records) == 1, records
    assert records[0]["level"] == "WARNING" and records[0]["limit"] == 1


def test_no_limit_never_sheds(start_held: Callable[..., Held]) -> None:
    """``max_in_flight=0``: requests are counted in the gauge but never refused."""
    app = start_held(max_in_flight=0)
    with app.client() as other, holding(app):
        status = other.get("/version").status_code
        metrics = other.get("/metrics").text
    assert status == 200
    assert _metric(metrics, "platform_http_in_flight_limit ") == 0.0
    assert _metric(metrics, "platform_http_requests_in_flight ") == 1.0


def test_client_gone_mid_stream_frees_the_slot(start_held: Callable[..., Held]) -> None:
    """A stream whose client disconnects stops counting: a lost client cannot pin a slot."""
    app = start_held(max_in_flight=1)
    with app.client() as other:
        with app.client() as http, http.stream("GET", "/_held/stream") as stream:
            chunks = stream.iter_bytes()
            assert next(chunks) == b"first\n"
            assert other.get("/version").status_code == 503
        status = poll_until(
            lambda: (code := other.get("/version").status_code) != 503 and code,
            timeout=5.0,
            interval=0.05,
            message="the slot to be freed after the client left",
        )
    assert status == 200
