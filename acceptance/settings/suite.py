"""SuiteConfig: the one settings class of the suite (thresholds, expectations, waivers, target).

Values come from ``preflight.toml`` (the documented defaults live in the ``Field`` descriptions
below and in the repository's ``preflight.toml``) and from ``PREFLIGHT_*`` environment variables,
which win over the file. Nothing else in ``acceptance/`` reads ``os.environ``: the plugin's command
line options fall back to the target fields of this class.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from acceptance.settings.documents import DocumentSettings
from acceptance.settings.faults import FaultSettings
from acceptance.settings.faults import secrets_in_file as fault_secrets_in_file
from acceptance.settings.ingestion import IngestionSettings
from acceptance.settings.ingestion import secrets_in_file as webhook_secrets_in_file
from acceptance.settings.logs import LogSettings
from acceptance.settings.monitoring import MonitoringSettings
from acceptance.settings.observability import (
    EnvironmentExpectations,
    ObservabilitySettings,
    default_environments,
)
from acceptance.settings.ops import OpsSettings, secrets_in_file
from acceptance.settings.performance import PerformanceSettings, PostdeploySettings, ReleaseSettings
from load.workload import WorkloadSettings


class Waiver(BaseModel):
    """A known failure accepted for a limited time by a named person."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="checklist id the waiver applies to")
    reason: str = Field(min_length=1, description="why the failure is acceptable for now")
    owner: str = Field(min_length=1, description="who accepted it")
    approved_by: str | None = Field(
        default=None,
        min_length=1,
        description="a second person who approved it; required, and not the owner, for an item "
        "of impact critical",
    )
    expires: dt.date = Field(description="last day the waiver is valid (inclusive)")

    def expired(self, today: dt.date) -> bool:
        return today > self.expires


class ReportSettings(BaseModel):
    """What goes into the reports besides the verdicts."""

    model_config = ConfigDict(extra="forbid")

    previous_run: Path | None = Field(
        default=None,
        description="checklist.json of an earlier run to compare figures with. Default: None",
    )
    title: str = Field(default="Preflight release checklist", description="report title")
    fetch_version_timeout_s: float = Field(
        default=5.0, gt=0, description="timeout of the /version probe for the report header"
    )
    fail_on_unverified: bool = Field(
        default=False,
        description="exit 101 when an item the run selected is not verified (like "
        "--fail-on-unverified); False: such a run exits 0. Default: False",
    )
    same_within: float = Field(
        default=0.05,
        ge=0,
        description="summary.html: a key figure within this share of its baseline value reads "
        "'unchanged', not better or worse. Default: 0.05",
    )


DEFAULT_QUEUE_DEPTH_MAX = {"hot": 100, "backfill": 5_000, "retry": 50, "dead": 10}
DEFAULT_ENDPOINT_P95_MS = {"health": 200.0, "enqueue": 300.0, "status": 200.0, "search": 500.0}


class SloSettings(BaseModel):
    """Service level objectives, shared by the latency checks and Locust's exit code
    (``load/slo.py``), so a release gate and a load test cannot disagree on "fast enough".

    Defaults suit the reference stack (its batching vLLM emulator: TTFT ~40-60 ms for a short
    prompt when idle, ~20 ms per token) with headroom for load.
    """

    model_config = ConfigDict(extra="forbid")

    ttft_p50_ms: float = Field(default=500.0, gt=0, description="TTFT median. Default: 500.0")
    ttft_p95_ms: float = Field(
        default=1000.0,
        gt=0,
        description="TTFT p95; also goodput's per-request TTFT. Default: 1000.0",
    )
    itl_p95_ms: float = Field(
        default=100.0, gt=0, description="p95 of all gaps between content deltas. Default: 100.0"
    )
    tokens_per_s_min: float = Field(
        default=10.0,
        gt=0,
        description="per-stream decode tokens/s: the median stream, and goodput's per-request "
        "floor. Default: 10.0",
    )
    aggregate_tokens_per_s_min: float = Field(
        default=20.0,
        gt=0,
        description="output tokens/s of all streams of the reference load together. Default: 20.0",
    )
    error_rate_max: float = Field(
        default=0.01, ge=0, le=1, description="failed requests / all requests. Default: 0.01"
    )
    goodput_min: float = Field(
        default=0.95, ge=0, le=1, description="share of streams meeting the SLOs. Default: 0.95"
    )
    e2el_max_ms: float | None = Field(
        default=None,
        gt=0,
        description="goodput's per-request end-to-end latency bound; None: not judged. "
        "Default: None",
    )
    endpoint_p95_ms: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_ENDPOINT_P95_MS),
        description="p95 per API endpoint (Locust request name). "
        "Default: health 200, enqueue 300, status 200, search 500",
    )


class SuiteConfig(BaseSettings):
    """Thresholds and expectations of the checks; one instance per pytest run."""

    model_config = SettingsConfigDict(
        env_prefix="PREFLIGHT_", env_nested_delimiter="__", extra="forbid"
    )

    # --- target (command line options win over these) ---
    target: str | None = Field(default=None, description="URL of an external target")
    stack: Path | None = Field(default=None, description="stack.json of a running stack")
    api_key: str | None = Field(default=None, description="ordinary API key")
    api_key_2: str | None = Field(default=None, description="a second ordinary API key")
    admin_key: str | None = Field(default=None, description="admin API key")
    ca_file: Path | None = Field(default=None, description="CA bundle to verify the target")

    # --- HTTP and waits ---
    http_timeout_s: float = Field(default=10.0, gt=0, description="per request. Default: 10.0")
    health_deadline_s: float = Field(
        default=2.0, gt=0, description="a health route must answer within this. Default: 2.0"
    )
    job_wait_timeout_s: float = Field(
        default=60.0, gt=0, description="longest wait for a job to finish. Default: 60.0"
    )
    hot_wait_sla_s: float = Field(
        default=5.0, gt=0, description="a hot job must start within this. Default: 5.0"
    )

    # --- health ---
    queue_depth_max: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_QUEUE_DEPTH_MAX),
        description="depth above which a queue is an excessive backlog, per queue. "
        "Default: hot 100, backfill 5000, retry 50, dead 10",
    )
    workers_min: int = Field(default=1, ge=0, description="workers alive at least. Default: 1")
    heartbeat_max_age_factor: float = Field(
        default=2.0, gt=0, description="heartbeat older than factor x interval = dead. Default: 2.0"
    )
    database_probes: int = Field(
        default=10, ge=1, description="datastore round trips probed via /health. Default: 10"
    )
    database_max_latency_ms: float = Field(
        default=100.0, gt=0, description="worst acceptable datastore latency. Default: 100.0"
    )

    # --- configuration ---
    rate_limit_min_per_minute: int = Field(
        default=10, ge=1, description="lowest per-key limit the policy allows. Default: 10"
    )
    rate_limit_max_per_minute: int = Field(
        default=10_000, ge=1, description="highest per-key limit the policy allows. Default: 10000"
    )
    rate_limit_probe_max: int = Field(
        default=2_000, ge=1, description="most requests sent to hit a limit. Default: 2000"
    )
    rate_limit_wait_max_s: float = Field(
        default=20.0,
        ge=0,
        description="longest a check waits out its key's 429 before it "
        "counts as an answer. Default: 20.0",
    )
    rate_limit_reset_max_s: float = Field(
        default=70.0, gt=0, description="longest wait for a rate limit to reset. Default: 70.0"
    )
    tls_min_days_to_expiry: int = Field(
        default=14, ge=0, description="certificate must stay valid this long. Default: 14"
    )
    cors_allowed_origins: list[str] = Field(
        default_factory=list,
        description="origins the CORS policy must admit; empty: read from the target's admin "
        "config. Default: []",
    )
    cors_unlisted_origin: str = Field(
        default="https://unlisted.invalid",
        description="an origin the CORS policy must refuse. Default: 'https://unlisted.invalid'",
    )
    expected_environment: str | None = Field(
        default=None, description="environment the target must report; None: not checked"
    )
    expected_version: str | None = Field(
        default=None, description="version the target must report; None: not checked"
    )
    expected_commit: str | None = Field(
        default=None, description="commit the target must report; None: not checked"
    )

    # --- queue behaviour ---
    priority_backlog: int = Field(
        default=40, ge=1, description="backlog size in the priority checks. Default: 40"
    )
    priority_max_overtaken: int = Field(
        default=8,
        ge=0,
        description="backfill jobs that may start while a later hot job waits (about the "
        "workers' concurrent slots). Default: 8",
    )
    backfill_saturation_jobs: int = Field(
        default=20, ge=1, description="backfill jobs that saturate the workers. Default: 20"
    )
    queue_fill_max: int = Field(
        default=2_000,
        ge=1,
        description="largest queue limit the suite will fill to prove it. Default: 2000",
    )
    queue_overfill: int = Field(
        default=5, ge=1, description="enqueues past the limit that must be refused. Default: 5"
    )
    timing_slack_s: float = Field(
        default=0.5, ge=0, description="tolerance on measured delays (backoff). Default: 0.5"
    )

    # --- performance ---
    slo: SloSettings = Field(default_factory=SloSettings)
    workload: WorkloadSettings = Field(default_factory=WorkloadSettings)
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)

    # --- release and post-deployment phases (acceptance/settings/performance.py) ---
    release: ReleaseSettings = Field(default_factory=ReleaseSettings)
    postdeploy: PostdeploySettings = Field(default_factory=PostdeploySettings)

    # --- operations artefacts: alerting, contacts, ToS register (acceptance/settings/ops.py) ---
    ops: OpsSettings = Field(default_factory=OpsSettings)

    # --- metrics, logs, protection; per-environment expectations (observability_config.py) ---
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    environments: dict[str, EnvironmentExpectations] = Field(
        default_factory=default_environments,
        description="expected settings per environment name (config.environment). Default: "
        "production/staging strict, local/development relaxed",
    )

    # --- LLM providers and the chat gateway ---
    chat_model: str | None = Field(
        default=None,
        description="model the chat checks request; None: the first route the target's /health"
        " lists. Default: None",
    )
    chat_max_tokens: int = Field(
        default=16, ge=1, description="max_tokens of each chat check request. Default: 16"
    )
    chat_max_messages: int = Field(
        default=10_000,
        ge=1,
        description="most messages a chat request may carry (the API's documented bound); one"
        " more must be refused with 422 (protection.input-validation). Default: 10000",
    )
    failover_requests: int = Field(
        default=10, ge=1, description="requests sent while the primary is down. Default: 10"
    )
    failover_max_tokens: int = Field(
        default=2,
        ge=1,
        description="max_tokens of the requests sent while the primary is down (routing is"
        " checked, not output). Default: 2",
    )
    failover_error_budget: int = Field(
        default=0, ge=0, description="of those, how many may fail. Default: 0"
    )
    failover_failback_streak: int = Field(
        default=4,
        ge=1,
        description="traffic is back on the primary when this many requests in a row are served"
        " by it: each API process behind a balancer fails back on its own. Default: 4",
    )
    failover_recovery_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="longest wait for traffic to return to the recovered primary. Default: 30.0",
    )
    gpu_util_max_percent: float = Field(
        default=90.0, gt=0, le=100, description="safe GPU utilisation limit. Default: 90.0"
    )
    kv_cache_usage_max: float = Field(
        default=0.9, gt=0, le=1, description="safe KV-cache usage (fraction). Default: 0.9"
    )
    gpu_metrics_urls: list[str] = Field(
        default_factory=list,
        description="Prometheus endpoints exporting vllm:* / DCGM metrics; []: the stack's vLLM"
        " /metrics. Default: []",
    )

    # --- search, documents, backups, uploads, egress (acceptance/settings/documents.py) ---
    documents: DocumentSettings = Field(default_factory=DocumentSettings)

    # --- ingestion: arXiv, webhooks, robots, sandbox (acceptance/settings/ingestion.py) ---
    ingestion: IngestionSettings = Field(default_factory=IngestionSettings)

    # --- evidence from the operator's tools: log store, Prometheus labels, fault hooks ---
    logs: LogSettings = Field(default_factory=LogSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    faults: FaultSettings = Field(default_factory=FaultSettings)

    # --- verdicts and reports ---
    waivers: list[Waiver] = Field(default_factory=list)
    report: ReportSettings = Field(default_factory=ReportSettings)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> SuiteConfig:
        if self.rate_limit_min_per_minute > self.rate_limit_max_per_minute:
            raise ValueError("rate_limit_min_per_minute must not exceed rate_limit_max_per_minute")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init kwargs, then environment, then preflight.toml: the file holds the team's
        defaults, the environment the per-run overrides (CI secrets)."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


class ConfigError(ValueError):
    """preflight.toml or the PREFLIGHT_* environment is invalid."""


def load_suite_config(path: Path | None) -> SuiteConfig:
    """SuiteConfig from ``path`` (None: no file) plus the environment.

    The file is bound through a throwaway subclass because pydantic-settings takes the TOML
    location from ``model_config`` only, and the path is a command line option.
    """

    class _FromFile(SuiteConfig):
        model_config = SettingsConfigDict(**{**SuiteConfig.model_config, "toml_file": path})

    if path is not None:
        # Before validation: a rejected value would otherwise be echoed in pydantic's message.
        try:
            with path.open("rb") as file:
                parsed = tomllib.load(file)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        _refuse_secrets(path, parsed)
    try:
        return _FromFile()
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        raise ConfigError(f"invalid preflight configuration{where}:\n{exc}") from exc


def _refuse_secrets(path: Path, parsed: dict[str, object]) -> None:
    """Credentials belong in the environment, never in a file that is committed or shared."""
    in_file = secrets_in_file(parsed.get("ops"))
    if in_file:
        names = ", ".join(f"PREFLIGHT_OPS__{name.upper()}" for name in in_file)
        raise ConfigError(f"{path}: [ops] {', '.join(in_file)} is a secret; set {names}")
    if webhook_secrets_in_file(parsed.get("ingestion")):
        raise ConfigError(
            f"{path}: [ingestion] webhook_secrets are secrets; "
            "set PREFLIGHT_INGESTION__WEBHOOK_SECRETS__<SENDER>"
        )
    hooks = fault_secrets_in_file(parsed.get("faults"))
    if hooks:
        names = ", ".join(f"PREFLIGHT_FAULTS__{h.upper()}__HEADERS__<NAME>" for h in hooks)
        raise ConfigError(f"{path}: [faults] headers may hold secrets; set {names}")


def find_config_file(value: str, default: str, bases: tuple[Path, ...]) -> Path | None:
    """The configuration file: an explicit path must exist, the default one may be absent."""
    for base in bases:
        if (base / value).is_file():
            return base / value
    if value != default:
        raise ConfigError(
            f"--preflight-config {value}: no such file: name an existing file, or leave the "
            f"option out to use {default} where it exists"
        )
    return None
