"""Pure ASGI middleware of the API: request context, access log, metrics, headers, body limit.

Pure ASGI rather than `BaseHTTPMiddleware` so streamed responses pass through untouched and the
context variables bound here are the ones the endpoint sees (same task).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response, unhandled_error_response
from service.http.metrics import UNMATCHED_ROUTE, observe_request, security_event
from service.logs import ACCESS_LOGGER, bind_context, current_context, reset_context

access_logger = logging.getLogger(ACCESS_LOGGER)
debug_logger = logging.getLogger("platform.http")
# Most body bytes the debug request log keeps of one request.
DEBUG_BODY_MAX_BYTES = 4096
security_logger = logging.getLogger("platform.security")

REQUEST_ID_HEADER = "X-Request-ID"
# A client id is echoed into headers and logs, so only a short, harmless alphabet is accepted.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

# Scope state keys the auth dependency fills in for this middleware.
STATE_RESPONSE_HEADERS = "response_headers"


def request_id_from(headers: Headers) -> str:
    given = headers.get(REQUEST_ID_HEADER)
    if given is not None and _VALID_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Outermost of ours: request id, security headers, access log record, HTTP metrics.

    It also answers unhandled exceptions itself (JSON 500) so that even that response carries
    the request id and is logged like any other.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts_max_age_s: int,
        access_log: bool = True,
        log_request_bodies: bool = False,
    ) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age_s}; includeSubDomains"
        self.access_log = access_log
        self.log_request_bodies = log_request_bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(Headers(scope=scope))
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state[STATE_RESPONSE_HEADERS] = {}
        token = bind_context(request_id=request_id)
        status = 500
        sent_bytes = 0
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent_bytes, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                headers["X-Content-Type-Options"] = "nosniff"
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = self.hsts
                for name, value in state.get(STATE_RESPONSE_HEADERS, {}).items():
                    if name not in headers:
                        headers[name] = value
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        if self.log_request_bodies and debug_logger.isEnabledFor(logging.DEBUG):
            receive = _debug_logged(scope, receive)
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if response_started:
                status = 500
                unhandled_error_response(exc)  # logs it; nothing more can be sent
            else:
                await unhandled_error_response(exc)(scope, receive, send_wrapper)
        finally:
            duration = time.perf_counter() - started
            route = _route_template(scope)
            # The raw path only for answered requests on a known route: a refused or unknown path
            # is client input (possibly personal data, probes) and is logged as its template.
            path = scope["path"] if route != UNMATCHED_ROUTE and status < 400 else route
            observe_request(scope["method"], route, status, duration)
            client = scope.get("client")
            if self.access_log:
                access_logger.info(
                    "%s %s %s",
                    scope["method"],
                    path,
                    status,
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "route": route,
                        "status": status,
                        "duration_ms": round(duration * 1000, 3),
                        "client_ip": client[0] if client else None,
                        "key_id": current_context().get("key_id"),
                        "bytes": sent_bytes,
                    },
                )
            reset_context(token)


def _debug_logged(scope: Scope, receive: Receive) -> Receive:
    """Log the request (query, headers, then the body start as it is read) at DEBUG.

    Only with ``log_request_bodies``: this writes client data verbatim, which is why it is off
    by default and why the suite's protection checks fail a target that has it on.
    """
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    query = scope.get("query_string", b"").decode("latin-1")
    debug_logger.debug(
        "request %s %s?%s headers=%s", scope["method"], scope["path"], query, headers
    )
    body = bytearray()

    async def logged() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            body.extend(message.get("body", b"")[: DEBUG_BODY_MAX_BYTES - len(body)])
            if not message.get("more_body", False):
                debug_logger.debug("request body %s", body.decode("utf-8", "replace"))
        return message

    return logged


class BodyLimitMiddleware:
    """413 for bodies over `max_body_bytes`: up front by Content-Length, else while streaming.

    Starlette's own limit answers in plain text on some paths; ours always answers in the API's
    JSON error shape, and counts the bytes of chunked bodies as they arrive.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._reject(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    self._record()
                    # An HTTPException (not ApiError): FastAPI re-raises those from body parsing
                    # and turns anything else into a 400.
                    raise HTTPException(413, detail=self._message())
            return message

        await self.app(scope, counting_receive, send)

    def _message(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes"

    def _record(self) -> None:
        security_event("body_too_large")
        security_logger.warning("request body too large", extra={"event": "body_too_large"})

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._record()
        response = error_response(
            413,
            "invalid_request_error",
            self._message(),
            code="body_too_large",
            # The unread body stays on the wire: close rather than parse it as the next request.
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
