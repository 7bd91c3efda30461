"""`GET /admin/config`: the running configuration, secrets reduced to presence and length.

This is what `config.secrets` and `config.rate-limits` read: an operator (or the suite) can check
that every secret is set, long enough and not a default, without the values ever leaving.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from service.deps import AdminKey, SettingsDep
from service.routers.job_models import error_responses

# Every route here needs the admin key: the refusals are declared once, for all of them.
router = APIRouter(prefix="/admin", tags=["admin"], responses=error_responses(401, 403))


class ConfigPublic(BaseModel):
    settings: dict[str, Any]
    config_hash: str


@router.get("/config")
async def read_config(settings: SettingsDep, _admin: AdminKey) -> ConfigPublic:
    return ConfigPublic(settings=settings.redacted(), config_hash=settings.config_hash())
