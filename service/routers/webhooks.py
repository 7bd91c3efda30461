"""Webhook receivers: ``POST /webhooks/github`` and ``POST /webhooks/huggingface``.

They answer within a second and do no work themselves: authenticate (constant time), scrub the
personal data out of the payload (``service.ingest.personal``), enqueue one ``webhook_event`` job
on the hot queue and answer 202 with its id. The idempotency key makes a redelivery a no-op:
``X-GitHub-Delivery`` for GitHub, the body's SHA-256 for Hugging Face (which sends no delivery
id; a redelivery is byte-identical). A failed authentication is a 401, a security event and a
log line; the secrets are never logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from service.deps import RedisDep, SettingsDep
from service.errors import ApiError
from service.ingest import personal, signatures, stats
from service.jobs import queue
from service.security.api_keys import record_event
from service.settings import Settings

log = logging.getLogger("platform.webhooks")
router = APIRouter(prefix="/webhooks", tags=["webhooks"])
GITHUB_EVENTS = frozenset({"push", "repository", "release"})


def _secret(value: SecretStr | None, source: str) -> str:
    if value is None:
        raise ApiError(
            503,
            "overloaded_error",
            f"{source} webhooks are not configured",
            code="webhook_not_configured",
        )
    return value.get_secret_value()


def _refuse(source: str, why: str) -> ApiError:
    record_event("webhook_auth_failed", None, source=source, why=why)
    return ApiError(
        401,
        "authentication_error",
        f"{source} webhook authentication failed",
        code="bad_webhook_signature",
    )


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ApiError(422, "invalid_request_error", "body is not JSON", code="invalid") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request_error", "body must be an object", code="invalid")
    return data


async def _accept(
    redis: RedisDep, settings: Settings, source: str, delivery: str, event: dict[str, Any]
) -> JSONResponse:
    try:
        result = await queue.enqueue(
            redis,
            settings,
            kind="webhook_event",
            queue="hot",
            owner=f"webhook:{source}",
            payload={"source": source, "delivery": delivery, "event": event},
            idempotency=delivery,
        )
    except queue.QueueFullError as exc:
        raise ApiError(
            503,
            "overloaded_error",
            "busy, redeliver later",
            code="queue_full",
            headers={"Retry-After": str(settings.queue_retry_after_s)},
        ) from exc
    await stats.mark(redis, "webhook_last_accepted")
    log.info("%s webhook %s accepted as job %s", source, delivery, result.job_id)
    return JSONResponse(
        {"job_id": result.job_id, "delivery": delivery, "duplicate": not result.created},
        status_code=202,
    )


@router.post("/github", status_code=202, responses={401: {}, 503: {}})
async def receive_github(
    request: Request,
    settings: SettingsDep,
    redis: RedisDep,
    x_github_event: str = Header(default="", max_length=64),
    x_github_delivery: str = Header(default="", max_length=100),
    x_hub_signature_256: str | None = Header(default=None, max_length=200),
) -> JSONResponse:
    """A GitHub event: signature over the raw body, ping answered, push/repository/release
    enqueued once per delivery id."""
    secret = _secret(settings.webhook_github_secret, "github")
    body = await request.body()
    if settings.webhook_verify and not signatures.verify_github(secret, body, x_hub_signature_256):
        raise _refuse("github", "signature")
    if x_github_event == "ping":
        return JSONResponse({"ok": True, "event": "ping"}, status_code=200)
    if not x_github_delivery:
        raise ApiError(
            422, "invalid_request_error", "X-GitHub-Delivery is required", code="missing_delivery"
        )
    if x_github_event not in GITHUB_EVENTS:
        return JSONResponse({"ignored": x_github_event}, status_code=202)
    data = _json(body)
    event = (
        personal.scrub_github(settings, x_github_event, data)
        if settings.pseudonymise_personal_data
        else {**data, "event": x_github_event}
    )
    return await _accept(redis, settings, "github", x_github_delivery, event)


@router.post("/huggingface", status_code=202, responses={401: {}, 503: {}})
async def receive_huggingface(
    request: Request,
    settings: SettingsDep,
    redis: RedisDep,
    x_webhook_secret: str | None = Header(default=None, max_length=500),
) -> JSONResponse:
    """A Hugging Face repo event: secret header checked, enqueued once per distinct body."""
    secret = _secret(settings.webhook_hf_secret, "huggingface")
    if settings.webhook_verify and not signatures.verify_huggingface(secret, x_webhook_secret):
        raise _refuse("huggingface", "secret")
    body = await request.body()
    data = _json(body)
    if not isinstance(data.get("repo"), dict) or not isinstance(data.get("event"), dict):
        raise ApiError(
            422, "invalid_request_error", "payload needs 'event' and 'repo' objects", code="invalid"
        )
    event = (
        personal.scrub_huggingface(settings, data) if settings.pseudonymise_personal_data else data
    )
    delivery = "hf-" + hashlib.sha256(body).hexdigest()[:40]
    return await _accept(redis, settings, "huggingface", delivery, event)
