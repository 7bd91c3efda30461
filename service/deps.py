"""FastAPI dependency aliases: settings, Redis, and the API/admin key gates (with rate limiting).

Routers declare what they need with the aliases (``settings: SettingsDep``, ``redis: RedisDep``,
``principal: ApiKey`` / ``AdminKey``); the objects live on ``app.state`` so that tests can build an
app around their own `Settings` with ``create_app(settings)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.errors import ApiError
from service.http.middleware import STATE_RESPONSE_HEADERS
from service.logs import update_context
from service.security.api_keys import authenticate, record_event
from service.security.rate_limits import RateLimiter
from service.settings import Settings

# Declared for OpenAPI only (auto_error=False): the document then lists, per operation, that a
# bearer token or an X-API-Key is required. The key itself is read by `security.authenticate`.
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer", description="API key")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key id (what logs show) and whether it is an admin key."""

    key_id: str
    is_admin: bool


# The dependencies are `async def` although they do not await: FastAPI runs a plain `def`
# dependency in its thread pool, a thread hop per request (measured: bench/README.md, gateway).
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]


async def _rate_limit(request: Request, settings: Settings, principal: Principal) -> None:
    """Count the request against the key's budget; 429 + Retry-After past it."""
    if not settings.rate_limit_enabled:
        return
    limiter: RateLimiter = request.app.state.rate_limiter
    general = settings.admin_rate_limit if principal.is_admin else settings.rate_limit
    limit = settings.rate_limit_overrides.get(principal.key_id, general)
    result = await limiter.hit(limit, principal.key_id)
    if result is None:
        return
    headers = result.headers()
    # The middleware puts these on whatever response this request ends with, errors included.
    sink: dict[str, str] | None = getattr(request.state, STATE_RESPONSE_HEADERS, None)
    if sink is None:
        sink = {}
        setattr(request.state, STATE_RESPONSE_HEADERS, sink)
    sink.update(headers)
    if not result.allowed:
        record_event("rate_limited", principal.key_id, limit=limit)
        raise ApiError(
            429,
            "rate_limit_error",
            f"rate limit {limit} exceeded for this key; retry after {headers['Retry-After']} s",
            code="rate_limit_exceeded",
            headers=headers,
        )


async def require_api_key(
    request: Request,
    settings: SettingsDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    _api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    """Any valid, unrevoked key (admin keys too), within its rate limit; else 401 / 429."""
    match = authenticate(settings, request.headers)
    principal = Principal(match.key_id, match.is_admin)
    request.state.key_id = principal.key_id
    update_context(key_id=principal.key_id)
    await _rate_limit(request, settings, principal)
    return principal


async def require_admin_key(principal: Annotated[Principal, Depends(require_api_key)]) -> Principal:
    """An admin key; an ordinary valid key gets 403 (it is known, just not allowed here)."""
    if not principal.is_admin:
        record_event("forbidden", principal.key_id)
        raise ApiError(403, "permission_error", "this route needs an admin key", code="forbidden")
    return principal


ApiKey = Annotated[Principal, Depends(require_api_key)]
AdminKey = Annotated[Principal, Depends(require_admin_key)]
