"""`/_emulator/*`: read and change the configuration, read the request log, reset.

These routes are how tests inject faults into a running stack, so they stay reachable during
every outage mode and are guarded by an optional Bearer token (the stack may be shared).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from service.emulators.config import ConfigError
from service.emulators.state import EmulatorState


def get_state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def require_admin(request: Request) -> None:
    """401 unless the configured admin token is presented (no token configured: open)."""
    token = get_state(request).admin_token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.encode(), token.encode()):
        raise _AdminAuthError


class _AdminAuthError(Exception):
    """Raised by `require_admin`; turned into a 401 by the handler `install_admin` registers."""


StateDep = Annotated[EmulatorState, Depends(get_state)]
router = APIRouter(prefix="/_emulator", tags=["emulator"], dependencies=[Depends(require_admin)])


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@router.get("/config")
async def read_config(state: StateDep) -> dict[str, Any]:
    return state.config.as_dict()


@router.post("/config", response_model=None)
async def update_config(request: Request, state: StateDep) -> dict[str, Any] | JSONResponse:
    try:
        patch = await request.json()
    except ValueError:
        return _error(400, "body must be JSON")
    if not isinstance(patch, dict):
        return _error(400, "body must be a JSON object")
    try:
        state.apply(patch)
    except ConfigError as exc:
        return _error(400, str(exc))
    return state.config.as_dict()


@router.get("/requests")
async def read_requests(
    state: StateDep,
    since: Annotated[float | None, Query()] = None,
    path: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    records = state.recorder.query(since=since, path=path, limit=limit)
    return {"requests": records, "total": len(records)}


@router.get("/state")
async def read_state(state: StateDep) -> dict[str, Any]:
    """Facts a test polls for: still loading? how many streams in flight?"""
    facts = {"name": state.name, "loading": state.loading(), "running": state.running}
    for hook in state.state_hooks:
        facts |= hook()
    return facts


@router.post("/reset")
async def reset(state: StateDep) -> dict[str, Any]:
    state.reset()
    return state.config.as_dict()


async def _auth_error(request: Request, exc: Exception) -> JSONResponse:
    response = _error(401, "admin token required")
    response.headers["WWW-Authenticate"] = 'Bearer realm="emulator"'
    return response


def install_admin(app: Any) -> None:
    app.include_router(router)
    app.add_exception_handler(_AdminAuthError, _auth_error)
