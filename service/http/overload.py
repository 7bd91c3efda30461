"""Overload shedding: a bound on the requests one API process serves at once; 503 beyond it.

A request past ``max_in_flight`` is answered at once with 503, ``Retry-After`` and the API's
``overloaded_error`` body, before authentication, the rate limit (Redis) or the route run: a
refusal must cost next to nothing, or refusing becomes the overload. The health routes and
``/metrics`` are never counted nor shed, so probes and scrapes still see a flooded process (a
liveness probe failed by a flood gets a busy but healthy process restarted: a cascade).

"In flight" ends with the last body message of the response, so a streamed chat completion holds
its slot until the stream ends, or until the app returns or raises (client gone, error).

No queue wait before shedding: in an asyncio server a request in flight is mostly a request
waiting (on Redis, on a provider), so the bound itself is the buffer that absorbs bursts; a wait
on top would only hold a connection and a task per waiting request and answer the same 503 later.

Why not uvicorn's ``--limit-concurrency`` (the stack keeps it, well above this bound, as the cap
on connections): it counts idle keep-alive connections as well as requests, cannot exempt the
probes, answers text/plain with ``Connection: close`` and no ``Retry-After`` (so refused clients
reconnect, TLS handshake included, at the worst moment) and logs a warning per refused request.
"""

from __future__ import annotations

import logging
import time

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response
from service.http.metrics import HTTP_IN_FLIGHT, HTTP_IN_FLIGHT_LIMIT, HTTP_SHED, UNMATCHED_ROUTE
from service.logs import SECURITY_LOGGER

logger = logging.getLogger(SECURITY_LOGGER)

# Routes that are never counted nor shed: what orchestrators and Prometheus poll.
EXEMPT_PATHS = frozenset({"/health", "/health/live", "/health/ready", "/metrics"})
# At most one log record per this many seconds while shedding (each with the count since the
# previous one): a flood of refusals must not become a flood of log lines. The shed counter on
# /metrics is exact; the record is what tells a person reading the logs that it happened.
SHED_LOG_INTERVAL_S = 10.0


class ShedLog:
    """Rate-limited WARNING records of shedding.

    Hand-written (a dozen lines): `logging` has no rate limit, and a record that carries the
    number of refusals it stands for says more than a sampled one would.
    """

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.pending = 0
        self.next_at = 0.0

    def shed(self, in_flight: int, limit: int) -> None:
        self.pending += 1
        now = time.monotonic()
        if now < self.next_at:
            return
        logger.warning(
            "overloaded: %d request(s) shed (%d in flight, limit %d)",
            self.pending,
            in_flight,
            limit,
            extra={
                "event": "overloaded",
                "shed": self.pending,
                "in_flight": in_flight,
                "limit": limit,
                "interval_s": self.interval_s,
            },
        )
        self.pending = 0
        self.next_at = now + self.interval_s


class RouteTemplates:
    """The app's route templates, to label a shed request that never reached the router.

    Built once, on the first shed, from the app's OpenAPI document: the public description of
    every route, where FastAPI's router internals differ from one version to the next. Building
    the document costs ~0.1 s once per process (FastAPI keeps it for /openapi.json); at start-up
    it would cost that for every app, shedding or not. Routes left out of the schema (/metrics,
    docs) are labelled unmatched.
    """

    def __init__(self) -> None:
        self.routes: list[Route] | None = None

    def find(self, scope: Scope) -> Route | None:
        if self.routes is None:
            self.routes = _routes_of(scope.get("app"))
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return route
        return None


def _routes_of(app: object) -> list[Route]:
    openapi = getattr(app, "openapi", None)
    try:
        paths = openapi().get("paths", {}) if callable(openapi) else {}
    except Exception:  # a schema that cannot be built must not turn a 503 into a 500
        logger.exception("route templates of shed requests unavailable")
        paths = {}
    return [
        Route(path, _never_called, methods=[m.upper() for m in ops]) for path, ops in paths.items()
    ]


async def _never_called(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("a route template is matched, never served")


class InFlightLimitMiddleware:
    """Counts requests in flight and sheds those beyond ``max_in_flight`` (0: count, never shed).

    One counter per app (so per process): the event loop runs one task at a time, so the plain
    integer needs no lock.
    """

    def __init__(self, app: ASGIApp, *, max_in_flight: int, retry_after_s: int) -> None:
        self.app = app
        self.limit = max_in_flight
        self.retry_after = str(retry_after_s)
        self.in_flight = 0
        self.log = ShedLog(SHED_LOG_INTERVAL_S)
        self.templates = RouteTemplates()
        HTTP_IN_FLIGHT_LIMIT.set(max_in_flight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.limit and self.in_flight >= self.limit:
            await self._shed(scope, receive, send)
            return
        self.in_flight += 1
        HTTP_IN_FLIGHT.inc()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.in_flight -= 1
                HTTP_IN_FLIGHT.dec()

        async def releasing_send(message: Message) -> None:
            # The last body message ends the response (a stream's too): free the slot before
            # handing it on, so a client that sees the end finds the slot free.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()
            await send(message)

        try:
            await self.app(scope, receive, releasing_send)
        finally:
            release()

    async def _shed(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.templates.find(scope)
        if route is not None:
            scope["route"] = route  # the access record and HTTP metrics show the template too
        HTTP_SHED.labels(route=getattr(route, "path", UNMATCHED_ROUTE)).inc()
        self.log.shed(self.in_flight, self.limit)
        response = error_response(
            503,
            "overloaded_error",
            f"the server is overloaded; retry after {self.retry_after} s",
            code="overloaded",
            headers={"Retry-After": self.retry_after},
        )
        await response(scope, receive, send)
