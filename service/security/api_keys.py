"""API key checking and security events: the logic behind the auth dependencies in `deps`.

Keys are compared in constant time against *every* configured key, without an early exit, so the
answer time says nothing about which key (or how much of one) matched. Logs and metrics only ever
see the key id, never the key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from starlette.datastructures import Headers

from service.errors import ApiError
from service.http.metrics import security_event
from service.settings import Settings

logger = logging.getLogger("platform.security")

REALM = 'Bearer realm="preflight"'


@dataclass(frozen=True, slots=True)
class KeyMatch:
    key_id: str
    is_admin: bool


def presented_key(headers: Headers) -> str | None:
    """The key the client sent, from ``Authorization: Bearer`` or ``X-API-Key``.

    Returns "" when a header was sent but holds no key (an empty key is still an attempt).
    """
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
    header_key = headers.get("x-api-key")
    if header_key is not None:
        return header_key.strip()
    return "" if authorization is not None else None


def match_key(settings: Settings, presented: str) -> KeyMatch | None:
    """Which configured key `presented` is, compared in constant time against all of them."""
    # Digests first: compare_digest is constant time only for equal lengths, and the length of
    # a key is itself a hint.
    candidate = hashlib.sha256(presented.encode()).digest()
    found: KeyMatch | None = None
    for is_admin, keys in ((False, settings.api_keys), (True, settings.admin_keys)):
        for key_id, secret in keys.items():
            expected = hashlib.sha256(secret.get_secret_value().encode()).digest()
            same = hmac.compare_digest(candidate, expected)
            # An id listed as admin wins over the same value listed as ordinary.
            if same and (found is None or is_admin):
                found = KeyMatch(key_id, is_admin)
    return found


def record_event(event: str, key_id: str | None = None, **fields: object) -> None:
    """Count a security event and log it at WARNING (with the key id when known, never the key)."""
    security_event(event)
    logger.warning("security event: %s", event, extra={"event": event, "key_id": key_id, **fields})


def unauthorized(message: str, *, key_given: bool, code: str) -> ApiError:
    challenge = REALM + (', error="invalid_token"' if key_given else "")
    return ApiError(
        401, "authentication_error", message, code=code, headers={"WWW-Authenticate": challenge}
    )


def authenticate(settings: Settings, headers: Headers) -> KeyMatch:
    """The caller's key, or the 401 to answer with (event recorded)."""
    presented = presented_key(headers)
    if presented is None:
        record_event("auth_missing_key")
        raise unauthorized("missing API key", key_given=False, code="missing_api_key")
    match = match_key(settings, presented) if presented else None
    if match is None:
        record_event("auth_invalid_key")
        raise unauthorized("invalid API key", key_given=True, code="invalid_api_key")
    if match.key_id in settings.revoked_key_ids:
        record_event("auth_revoked_key", match.key_id)
        raise unauthorized("API key revoked", key_given=True, code="revoked_api_key")
    return match
