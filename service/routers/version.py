"""`GET /version`: what is deployed, so a release check can compare it with what was meant."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from service import SCHEMA_VERSION, __version__
from service.deps import SettingsDep

router = APIRouter(tags=["ops"])


class VersionPublic(BaseModel):
    version: str
    commit: str
    build_time: str
    schema_version: int


@router.get("/version")
async def read_version(settings: SettingsDep) -> VersionPublic:
    return VersionPublic(
        version=__version__,
        commit=settings.build_commit,
        build_time=settings.build_time,
        schema_version=SCHEMA_VERSION,
    )
