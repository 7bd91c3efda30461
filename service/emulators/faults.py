"""Status faults with rate-limit headers, for emulators of external sites (arXiv, robots, GitHub).

The LLM emulators' outages (``EmulatorConfig.outage``) answer without headers; an external API
that tells a client to back off does so with ``Retry-After`` (503, 429) or ``X-RateLimit-*``, and
whether the platform honours those headers is exactly what the terms-of-service checks verify.
``POST /_emulator/faults`` sets one, ``DELETE`` clears it, ``/_emulator/reset`` clears it too.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from service.emulators.admin import require_admin


class FaultSpec(BaseModel):
    """What to answer instead of the page: ``status`` with ``Retry-After``/rate-limit headers."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(default=503, ge=200, le=599)  # 200 + ratelimit_remaining_zero: a warning
    retry_after_s: int | None = Field(default=None, ge=0, le=86_400)
    ratelimit_remaining_zero: bool = False  # X-RateLimit-Remaining: 0 (+ X-RateLimit-Reset)
    reset_after_s: int = Field(default=5, ge=0, le=86_400)
    count: int | None = Field(default=None, ge=1, description="faulty answers; None: until cleared")
    path_prefix: str = "/"


@dataclass
class _Active:
    spec: FaultSpec
    left: int | None


class Faults:
    """The active fault of one emulator; thread-safe because uvicorn may run sync routes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: _Active | None = None

    def set(self, spec: FaultSpec | None) -> None:
        with self._lock:
            self._active = None if spec is None else _Active(spec, spec.count)

    def describe(self) -> dict[str, Any] | None:
        with self._lock:
            return None if self._active is None else asdict(self._active)

    def claim(self, path: str) -> FaultSpec | None:
        """The fault this request gets (counting it down), or None to serve it normally.

        Separate from ``take`` so an emulator whose site answers faults in its own format
        (GitHub's JSON bodies and epoch reset times) can render the same spec itself.
        """
        with self._lock:
            active = self._active
            if active is None or not path.startswith(active.spec.path_prefix):
                return None
            if active.left is not None:
                active.left -= 1
                if active.left <= 0:
                    self._active = None
            return active.spec

    def take(self, path: str) -> Response | None:
        """The faulty answer for this request, or None to serve it normally."""
        spec = self.claim(path)
        if spec is None:
            return None
        headers: dict[str, str] = {}
        if spec.retry_after_s is not None:
            headers["Retry-After"] = str(spec.retry_after_s)
        if spec.ratelimit_remaining_zero:
            headers["X-RateLimit-Limit"] = "60"
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(spec.reset_after_s)
        body = "Rate limit exceeded\n" if spec.status == 429 else "Service Unavailable\n"
        return Response(body, status_code=spec.status, headers=headers, media_type="text/plain")


def install_faults(app: FastAPI, faults: Faults) -> None:
    router = APIRouter(prefix="/_emulator", dependencies=[Depends(require_admin)])

    @router.get("/faults")
    async def read_faults() -> dict[str, Any]:
        return {"fault": faults.describe()}

    @router.post("/faults")
    async def set_fault(spec: FaultSpec) -> dict[str, Any]:
        faults.set(spec)
        return {"fault": faults.describe()}

    @router.delete("/faults")
    async def clear_fault() -> dict[str, Any]:
        faults.set(None)
        return {"fault": None}

    app.include_router(router)
    app.state.emulator.reset_hooks.append(lambda: faults.set(None))


async def fault_response(request: Request) -> JSONResponse | Response | None:
    """Helper for routes: the active fault's answer for this request, if any."""
    faults: Faults = request.app.state.faults
    return faults.take(request.url.path)
