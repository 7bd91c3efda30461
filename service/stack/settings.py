"""The stack's own configuration (not the service's): ``PREFLIGHT_STACK_*`` environment variables.

Only what an operator or a CI job sets from outside belongs here; everything else is a
``StackOptions`` argument. ``REDIS_URL`` is honoured as well because it is the name CI services
and developers already export for "use this Redis".
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.artefacts import reference_file


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
    # The ingress (service/stack/ingress.py): used by default where the executable is found.
    nginx_binaries: list[str] = Field(
        default_factory=lambda: ["nginx", "/usr/sbin/nginx"],
        description="nginx executables tried in order (Debian's is in /usr/sbin, often not on a"
        " user's PATH)",
    )
    # Monitoring (service/stack/monitoring.py): started when the executables are found.
    prometheus_binary: str = Field(
        default="prometheus", description="Prometheus executable (name on PATH or path)"
    )
    alertmanager_binaries: list[str] = Field(
        default_factory=lambda: ["alertmanager", "prometheus-alertmanager"],
        description="Alertmanager executables tried in order (Debian: prometheus-alertmanager)",
    )
    alert_rules: list[Path] = Field(
        default_factory=lambda: [reference_file("ops/prometheus/alerts.yml")],
        description="rule files the stack's Prometheus evaluates",
    )
    alertmanager_config: Path = Field(
        default=reference_file("ops/alertmanager/alertmanager.yml"),
        description="Alertmanager configuration; its webhooks go to the stack's loopback receiver",
    )
    # A stack lives a minute: the first scrape and the Watchdog must come within seconds.
    scrape_interval_s: float = Field(default=2.0, gt=0, description="Prometheus scrape interval")
    evaluation_interval_s: float = Field(
        default=1.0, gt=0, description="Prometheus rule evaluation interval"
    )
    prometheus_retention: str = Field(
        default="1h", description="how long Prometheus keeps samples (a Prometheus duration)"
    )
