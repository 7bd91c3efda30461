"""The stack's own configuration (not the service's): ``PREFLIGHT_STACK_*`` environment variables.

Only what an operator or a CI job sets from outside belongs here; everything else is a
``StackOptions`` argument. ``REDIS_URL`` is honoured as well because it is the name CI services
and developers already export for "use this Redis".
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StackSettings(BaseSettings):
    """Defaults for ``StackOptions`` that come from the environment."""

    model_config = SettingsConfigDict(env_prefix="PREFLIGHT_STACK_", extra="ignore")

    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PREFLIGHT_STACK_REDIS_URL", "REDIS_URL"),
        description="use this Redis instead of starting Valkey",
    )
    stop_timeout_s: float = Field(
        default=10.0, gt=0, description="per group of children: SIGTERM, then SIGKILL after this"
    )
    max_startup_restarts: int = Field(
        default=3, ge=0, description="a worker restarted more often while booting fails the boot"
    )
