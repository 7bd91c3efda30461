"""vLLM's error bodies. vLLM <= 0.10.1 answers a flat `ErrorResponse`; later releases nest it
under "error" (OpenAI's shape). `--error-format` picks one so both generations can be emulated.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

from service.emulators.state import Fault

# vLLM names the type after the HTTP status class it raises.
_TYPES = {
    400: "BadRequestError",
    404: "NotFoundError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}


class ErrorFormat:
    """Holds the chosen format; one per app so tests can run both side by side."""

    def __init__(self, nested: bool) -> None:
        self.nested = nested

    def body(self, message: str, status: int, err_type: str | None = None) -> dict[str, Any]:
        err_type = err_type or _TYPES.get(status, "InternalServerError")
        if self.nested:
            return {"error": {"message": message, "type": err_type, "param": None, "code": status}}
        return {
            "object": "error",
            "message": message,
            "type": err_type,
            "param": None,
            "code": status,
        }

    def response(self, message: str, status: int, err_type: str | None = None) -> JSONResponse:
        return JSONResponse(self.body(message, status, err_type), status_code=status)

    def stream_event(self, message: str, status: int = 400) -> bytes:
        """The `data:` event vLLM writes when a stream fails after its 200 (BadRequestError)."""
        body = self.body(message, status)
        payload = body if self.nested else {"error": body}
        return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"

    def render_fault(self, fault: Fault) -> tuple[bytes, str]:
        body = json.dumps(self.body(fault.message, fault.status), separators=(",", ":"))
        return body.encode(), "application/json"
