"""`GET /admin/config`: the running configuration, secrets reduced to presence and length.

This is what `config.secrets` and `config.rate-limits` read: an operator (or the suite) can check
that every secret is set, long enough and not a default, without the values ever leaving.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from service.deps import AdminKey, SettingsDep
from service.routers.job_models import ADMIN_REFUSALS

router = APIRouter(prefix="/admin", tags=["admin"], responses=ADMIN_REFUSALS)


class ConfigPublic(BaseModel):
    settings: dict[str, Any]
    config_hash: str


@router.get("/config")
async def read_config(settings: SettingsDep, _admin: AdminKey) -> ConfigPublic:
    return ConfigPublic(settings=settings.redacted(), config_hash=settings.config_hash())
