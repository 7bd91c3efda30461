"""The one error shape of the API: OpenAI's ``{"error": {...}}`` on every route, never HTML.

Clients (and the OpenAI SDK on the chat endpoint) parse one shape whatever went wrong, and every
error carries the request id so a user report can be matched to the logs.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.logs import current_context

logger = logging.getLogger("platform.errors")

# Longest message put in an error body: validation messages must never echo huge input back.
MAX_MESSAGE_CHARS = 300

TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def error_type(status: int) -> str:
    return TYPE_BY_STATUS.get(status, "server_error" if status >= 500 else "invalid_request_error")


class ApiError(Exception):
    """Raise anywhere in a request to answer with the JSON error body of docs/DESIGN.md."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def error_body(
    type_: str, message: str, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "message": message[:MAX_MESSAGE_CHARS],
            "type": type_,
            "code": code,
            "param": param,
            "request_id": current_context().get("request_id"),
        }
    }


def error_response(
    status: int,
    type_: str,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = error_body(type_, message, code=code, param=param)
    return JSONResponse(body, status_code=status, headers=headers)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status, exc.type, exc.message, code=exc.code, param=exc.param, headers=exc.headers
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route"
    code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status_code)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(
        exc.status_code, error_type(exc.status_code), message, code=code, headers=headers
    )


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] or parts
    return ".".join(parts)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """422 naming the first offending field; pydantic's `input` is dropped, never echoed."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if not errors:
        return error_response(422, "invalid_request_error", "invalid request", code="invalid")
    first = errors[0]
    param = _location(first.get("loc", ()))
    kind = str(first.get("type", "invalid"))
    if kind == "json_invalid":
        message = "request body is not valid JSON"
    else:
        detail = str(first.get("msg", "invalid value"))
        message = f"{param}: {detail}" if param else detail
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return error_response(422, "invalid_request_error", message, code=kind, param=param or None)


def unhandled_error_response(exc: BaseException) -> JSONResponse:
    """The 500 answer for an exception nobody handled: logged with traceback, body without."""
    logger.error("unhandled exception: %s", type(exc).__name__, exc_info=exc)
    return error_response(500, "server_error", "internal server error", code="internal_error")


async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
    return unhandled_error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Backstop only: the request middleware answers unhandled errors itself, inside its headers.
    app.add_exception_handler(Exception, _unhandled)
