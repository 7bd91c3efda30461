"""Thresholds of the observability and protection checks (SuiteConfig tables).

Two tables of ``preflight.toml``: ``[observability]`` (metrics, logs, protection, DoS probes) and
``[environments.<name>]`` (what the settings of a deployment in that environment must look like,
for ``config.environment`` and the https rule of ``protection.tls``). Kept apart from
``acceptance/settings/suite.py`` so that file stays the one place of the suite's top-level keys.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_REQUIRED_SECRETS = ["api_keys", "admin_keys"]
DEFAULT_IGNORED_ERROR_TYPES = ["DiagnosticError"]


class ObservabilitySettings(BaseModel):
    """Metrics, logs, data protection and DoS probes."""

    model_config = ConfigDict(extra="forbid")

    prometheus_url: str | None = Field(
        default=None,
        description="Prometheus that scrapes the target when [postdeploy] prometheus_url is "
        "unset (the older key); None: the stack's, if any. Default: None",
    )
    log_wait_s: float = Field(
        default=10.0, gt=0, description="longest wait for a record to reach the logs. Default: 10.0"
    )
    log_max_bytes_min: int = Field(
        default=1_048_576, ge=1, description="log files rotate at no less than this. Default: 1 MiB"
    )
    log_max_bytes_max: int = Field(
        default=1_073_741_824, ge=1, description="... and no more than this. Default: 1 GiB"
    )
    log_backup_count_min: int = Field(
        default=3, ge=0, description="rotated files kept at least. Default: 3"
    )
    log_backup_count_max: int = Field(
        default=100, ge=0, description="rotated files kept at most. Default: 100"
    )
    log_retention_days_min: int = Field(
        default=7, ge=1, description="logs kept at least this many days. Default: 7"
    )
    log_retention_days_max: int = Field(
        default=90, ge=1, description="logs kept at most (data minimisation). Default: 90"
    )
    access_log_requests: int = Field(
        default=10, ge=1, description="requests whose access records are looked up. Default: 10"
    )
    recent_window_s: float = Field(
        default=300.0, gt=0, description="'recent' for data.no-recent-errors. Default: 300.0"
    )
    recent_errors_max: int = Field(
        default=0, ge=0, description="error records allowed in the window. Default: 0"
    )
    failed_jobs_max: int = Field(
        default=0, ge=0, description="dead jobs allowed (probe jobs excepted). Default: 0"
    )
    ignored_error_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_IGNORED_ERROR_TYPES),
        description="exception types of errors induced on purpose (not counted). "
        "Default: ['DiagnosticError']",
    )
    hsts_min_max_age_s: int = Field(
        default=15_552_000, ge=0, description="HSTS max-age at least (180 days). Default: 15552000"
    )
    required_secrets: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REQUIRED_SECRETS),
        description="admin config fields that must hold secrets. "
        "Default: ['api_keys', 'admin_keys']",
    )
    secret_min_length: int = Field(
        default=24, ge=1, description="shortest acceptable secret. Default: 24"
    )
    startup_refusal_timeout_s: float = Field(
        default=30.0, gt=0, description="without secrets, exit within this. Default: 30.0"
    )
    body_probe_bytes: int = Field(
        default=4_194_304, ge=1, description="a body this large must get 413. Default: 4 MiB"
    )
    slow_header_max_s: float = Field(
        default=15.0, gt=0, description="slow-header connection closed within. Default: 15.0"
    )
    slow_header_interval_s: float = Field(
        default=0.25, gt=0, description="pace of the slow-header client's bytes. Default: 0.25"
    )
    flood_concurrency: int = Field(
        default=96,
        ge=1,
        description="parallel connections of one client's flood; above the"
        " target's in-flight capacity, its limit times its API processes (the stack's: 32 x 2)."
        " Default: 96",
    )
    flood_requests: int = Field(default=600, ge=1, description="flood size at most. Default: 600")
    flood_max_s: float = Field(default=5.0, gt=0, description="flood cut-off. Default: 5.0")
    flood_shed_enough: int = Field(
        default=20, ge=1, description="the flood ends once this many were shed. Default: 20"
    )
    canary_email: str = Field(
        default="preflight.canary@example.org",
        description="canary personal data (a per-run token is added). "
        "Default: 'preflight.canary@example.org'",
    )
    canary_name: str = Field(
        default="Zebulon Canarywood", description="canary name. Default: 'Zebulon Canarywood'"
    )


class EnvironmentExpectations(BaseModel):
    """How a deployment in one environment must be configured; None: not checked."""

    model_config = ConfigDict(extra="forbid")

    debug: bool | None = Field(default=None, description="required debug flag")
    docs_exposed: bool | None = Field(default=None, description="/docs and /redoc served")
    log_levels: list[str] = Field(
        default_factory=lambda: ["INFO", "WARNING"], description="acceptable log levels"
    )
    https_endpoints: bool = Field(
        default=True, description="provider, ingestion and webhook URLs must be https"
    )


def default_environments() -> dict[str, EnvironmentExpectations]:
    """Production and staging strict; local and development may debug over plain http."""
    strict = EnvironmentExpectations(debug=False, docs_exposed=False)
    relaxed = EnvironmentExpectations(
        log_levels=["DEBUG", "INFO", "WARNING"], https_endpoints=False
    )
    return {
        "production": strict,
        "staging": strict.model_copy(),
        "development": relaxed,
        "local": relaxed.model_copy(),
    }
