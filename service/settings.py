"""The one settings class of the platform service (API, workers).

Every process of the service reads its configuration here, from ``PLATFORM_*`` environment
variables (or a ``.env`` file given by ``PLATFORM_ENV_FILE``). Nothing else in ``service/`` reads
``os.environ``. Defaults are the safe ones: production environment, no docs, no CORS origins,
rate limits on; the service refuses to start without real secrets.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from limits import parse_many
from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.gateway.config import GatewaySettings, ProviderSettings, resolve_routes

Environment = Literal["local", "development", "staging", "production"]
QueueName = Literal["hot", "backfill"]
LicenceClassName = Literal["permissive", "restricted", "gated", "unknown"]

# Values people paste from examples; a key equal to one of these is as good as none.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"changeme", "change-me", "secret", "password", "admin", "test", "example", "default", "key"}
)
MIN_SECRET_LENGTH = 24
# Secrets that may be unset (the feature is then off) but are refused when weak.
_OPTIONAL_SECRETS = ("webhook_hf_secret", "webhook_github_secret", "pseudonym_key")


def _one_limit(value: str) -> str:
    # Fail at startup, not on the first request: "600/minute", "10 per second", "5/2 seconds".
    try:
        items = parse_many(value)
    except ValueError as exc:
        raise ValueError(f"not a rate limit string: {value!r}") from exc
    if len(items) != 1:
        raise ValueError(f"one rate limit expected, got {len(items)}: {value!r}")
    return value


RateLimit = Annotated[str, AfterValidator(_one_limit)]


class Settings(BaseSettings):
    """Configuration of the platform service; one instance per process."""

    model_config = SettingsConfigDict(env_prefix="PLATFORM_", extra="forbid")

    # --- identity of the deployment ---
    environment: Environment = "production"
    debug: bool = False
    docs_enabled: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    build_commit: str = "unknown"
    build_time: str = "unknown"

    # --- datastore and files ---
    redis_url: str = "redis://127.0.0.1:6379/0"
    data_dir: Path = Path("./data")
    log_dir: Path | None = None
    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    log_backup_count: int = Field(default=10, ge=1)
    log_retention_days: int = Field(default=30, ge=1)
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="json: one object per line, what log search and the suite"
        " read; text: for a developer's terminal only",
    )
    log_redaction: bool = Field(
        default=True, description="mask configured secrets and bearer tokens in every record"
    )
    log_request_bodies: bool = Field(
        default=False,
        description="at DEBUG, log each request's query, headers and body:"
        " a local debugging aid that writes client data (personal data, keys) to the logs",
    )
    access_log_enabled: bool = True
    metrics_enabled: bool = Field(default=True, description="serve GET /metrics")

    # --- secrets: key id -> key; the id is what logs and metrics show ---
    api_keys: dict[str, SecretStr] = Field(default_factory=dict)
    admin_keys: dict[str, SecretStr] = Field(default_factory=dict)
    revoked_key_ids: frozenset[str] = frozenset()

    # --- HTTP protection ---
    cors_allow_origins: list[str] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    rate_limit: RateLimit = "600/minute"
    admin_rate_limit: RateLimit = "120/minute"
    rate_limit_enabled: bool = True
    rate_limit_overrides: dict[str, RateLimit] = Field(
        default_factory=dict,
        description="key id -> its own limit, in place of rate_limit or"
        " admin_rate_limit (a partner tier; the reference stack's rate-limit probe key)",
    )
    rate_limit_lease: int = Field(
        default=8,
        ge=0,
        description="hits of a key's window an API process reserves from Redis at once and then"
        " admits without a round trip (at most a tenth of the limit): a window never admits more"
        " than its limit, and refuses at most (API processes - 1) x lease early; 0 or 1: one"
        " Redis round trip per request",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    hsts_max_age_s: int = Field(default=31_536_000, ge=0)
    http_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="a connection that has not sent complete request"
        " headers this long after it opened (or after its previous response) is closed:"
        " slow-header (slowloris) clients cannot hold connections",
    )
    # Reference deployment: one API process per 2 cores serves ~300 ordinary requests/s at a
    # few ms of CPU each, so 256 in flight is most of a second of queued work (beyond it latency
    # only grows) while leaving room for chat streams, which hold a slot waiting on a provider.
    max_in_flight: int = Field(
        default=256,
        ge=0,
        description="requests one API process serves at once (health routes"
        " and /metrics not counted); beyond it a request is answered 503 overloaded_error with"
        " Retry-After at once, before auth, rate limit or the route run. 0: no limit (unsafe)",
    )
    overload_retry_after_s: int = Field(
        default=1,
        ge=1,
        le=60,
        description="Retry-After of the overload 503: shedding is"
        " momentary, a client should come back soon",
    )

    # --- jobs ---
    queue_max_length: dict[QueueName, int] = Field(
        default_factory=lambda: _default_queue_limits(),
        description="most jobs a queue holds accepted and not yet terminal (waiting, running or"
        " waiting for a retry); past it /enqueue answers 429. 0 means unlimited. A queue left out"
        " keeps its default",
    )
    queue_retry_after_s: int = Field(default=5, ge=1)
    queue_weights: dict[QueueName, int] = Field(
        default_factory=lambda: _default_queue_weights(),
        description="weighted round robin of a worker's picks: up to `hot` jobs from hot, then up"
        " to `backfill` from backfill, an empty queue skipped. Each >= 1; a queue left out keeps"
        " its default",
    )
    queue_pause_max_s: int = Field(
        default=300,
        ge=1,
        le=24 * 3600,
        description="a pause (POST /admin/queues/pause) lifts itself after this long, so a"
        " crashed operator or test run cannot leave a queue stopped for good",
    )
    dead_letter_enabled: bool = Field(
        default=True,
        description="keep jobs that ran out of attempts in the dead-letter queue"
        " (/admin/dead-letters) for inspection and requeue. False discards them: the record"
        " still says 'dead' until its retention ends, but no dead-letter entry exists",
    )
    job_max_attempts: int = Field(default=5, ge=1, le=50)
    retry_base_s: float = Field(default=0.5, ge=0.0)
    retry_max_s: float = Field(default=60.0, gt=0)
    retry_jitter: float = Field(default=0.2, ge=0.0, le=1.0)
    job_visibility_timeout_s: float = Field(default=30.0, gt=0)
    job_retention_s: int = Field(default=7 * 24 * 3600, ge=1)
    job_default_timeout_s: float = Field(default=300.0, gt=0)

    # --- workers ---
    worker_concurrency: int = Field(default=4, ge=1, le=256)
    worker_heartbeat_s: float = Field(default=2.0, gt=0)
    workers_min: int = Field(default=1, ge=0)
    worker_shutdown_grace_s: float = Field(
        default=10.0,
        ge=0.0,
        description="on SIGTERM, in-flight jobs get this long to finish before they are released",
    )

    # --- outbound HTTP (service/outbound/client.py): every external call goes through it ---
    egress_allowlist: list[str] = Field(
        default_factory=list,
        description="hosts the platform may call: 'host' (ports 80/443), 'host:port', '*.suffix'"
        " or '*' (any host). Addresses that are not global (loopback, private, link-local,"
        " metadata, ULA, unspecified) stay refused unless the exact host:port is listed",
    )
    egress_allow_private: bool = Field(
        default=False, description="let wildcard entries reach non-global addresses (unsafe)"
    )
    outbound_contact: str = "mailto:ops@example.org"
    outbound_connect_timeout_s: float = Field(default=5.0, gt=0)
    outbound_read_timeout_s: float = Field(default=30.0, gt=0)
    outbound_max_redirects: int = Field(default=5, ge=0, le=20)
    outbound_max_response_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    outbound_max_rate_wait_s: float = Field(
        default=30.0,
        ge=0,
        description="longest wait for a destination's rate limit to reset; beyond it the call"
        " fails with RateLimitedError instead of blocking a worker",
    )
    outbound_ca_file: Path | None = None
    outbound_rate_state: Literal["redis", "local"] = Field(
        default="redis",
        description="'local' keeps each destination's one-connection lock and"
        " Retry-After mark per process only: wrong as soon as two processes call one site;"
        " exists so that the external rate-limit check can be shown to fail",
    )

    # --- documents and search (service/documents/) ---
    documents_snippet_chars: int = Field(default=300, ge=40, le=5_000)
    documents_full_text_classes: list[LicenceClassName] = Field(
        default_factory=lambda: list[LicenceClassName](["permissive"]),
        description="licence classes whose full text is stored and served; every other class"
        " keeps a bounded snippet only",
    )
    documents_metadata_only_classes: list[LicenceClassName] = Field(
        default_factory=lambda: list[LicenceClassName](["gated"]),
        description="licence classes stored as metadata only (no text at all), e.g. gated models",
    )
    documents_retention_days: dict[str, int] = Field(
        default_factory=lambda: {"upload": 90, "arxiv": 3650, "huggingface": 3650, "github": 3650},
        description="documents not updated for this many days are purged; 0 keeps them forever",
    )
    search_max_query_chars: int = Field(default=256, ge=8, le=4096)
    upload_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    upload_max_pdf_stream_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    backups_enabled: bool = True
    backup_dir: Path | None = None
    backup_keep: int = Field(default=7, ge=1)

    # --- scheduled jobs (service/scheduler/): run by whichever worker claims the due slot ---
    scheduler_enabled: bool = Field(
        default=True,
        description="workers run the periodic jobs (backup, retention purge);"
        " false stops them, and /health reports the scheduler degraded",
    )
    backup_period_s: float = Field(
        default=86_400.0,
        ge=1.0,
        le=30 * 86_400.0,
        description="a document-store backup runs this often (and at first start)",
    )
    retention_purge_period_s: float = Field(
        default=86_400.0,
        ge=1.0,
        le=30 * 86_400.0,
        description="the retention purge (documents past documents_retention_days, expired job"
        " references, job records without a TTL) runs this often (and at first start)",
    )
    scheduler_tick_s: float = Field(
        default=5.0,
        gt=0,
        le=60.0,
        description="how often each worker looks for a due schedule: the latest a run starts"
        " after it is due",
    )
    scheduler_retry_s: float = Field(
        default=300.0, ge=1.0, description="a failed run is tried again after min(its period, this)"
    )
    scheduler_run_timeout_s: float = Field(
        default=1_800.0,
        gt=0,
        description="a run is given up (failed) after this long; its lease lasts this plus 30 s",
    )
    scheduler_overdue_factor: float = Field(
        default=2.0,
        ge=1.0,
        le=100.0,
        description="a schedule is overdue when its next run has not started period x"
        " (factor - 1), at least 30 s, after it was due; /health is then degraded",
    )

    # --- ingestion (service/ingest/): arXiv poller, webhooks, page fetching, sandbox ---
    arxiv_url: str | None = Field(
        default=None,
        description="base URL of the arXiv API (https://export.arxiv.org); None:"
        " the poller stays idle",
    )
    arxiv_query: str = Field(default="cat:cs.CL OR cat:cs.LG", min_length=1, max_length=500)
    arxiv_page_size: int = Field(default=20, ge=1, le=2000)
    arxiv_max_pages: int = Field(default=5, ge=1, le=100)
    arxiv_min_interval_s: float = Field(
        default=3.0,
        ge=3.0,
        description="arXiv's terms: at most one request every 3 s, across"
        " every process of the deployment (a slot reserved in Redis)",
    )
    arxiv_poll_interval_s: float = Field(default=300.0, ge=0.0, le=86_400.0)
    arxiv_rate_state: Literal["redis", "local"] = Field(
        default="redis",
        description="'local' keeps the cadence per process only: wrong as soon"
        " as two processes poll; exists so that the cadence check can be shown to fail",
    )
    arxiv_backoff_max_s: float = Field(default=600.0, gt=0)
    ingestion_stale_s: float = Field(
        default=3600.0,
        gt=0,
        description="/health ingestion is degraded when the last successful"
        " poll is older than this",
    )
    webhook_hf_secret: SecretStr | None = None
    webhook_github_secret: SecretStr | None = None
    webhook_verify: bool = Field(
        default=True, description="check X-Webhook-Secret / X-Hub-Signature-256; false is unsafe"
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of pseudonyms of personal data; None: personal data"
        " is dropped instead",
    )
    pseudonymise_personal_data: bool = Field(
        default=True, description="false stores webhook payloads' personal data as sent (unsafe)"
    )
    robots_obey: bool = True
    robots_cache_ttl_s: int = Field(default=3600, ge=1, le=7 * 86_400)
    sandbox_enabled: bool = Field(
        default=True, description="parse untrusted content in a resource-limited subprocess"
    )
    sandbox_cpu_s: int = Field(default=2, ge=1, le=300)
    sandbox_memory_mb: int = Field(default=512, ge=64, le=16_384)
    sandbox_file_mb: int = Field(default=1, ge=0, le=1024)
    sandbox_timeout_s: float = Field(default=10.0, gt=0, le=600)

    # --- LLM gateway (service/gateway/): POST /v1/chat/completions ---
    providers: dict[str, ProviderSettings] = Field(
        default_factory=dict,
        description="upstream LLM servers by name (the X-Provider header and metrics use it)",
    )
    chat_routes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="public model -> providers in failover order; a model left out is routed"
        " to the providers serving it, lowest priority number first",
    )
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)

    # --- health thresholds ---
    disk_min_free_ratio: float = Field(default=0.05, ge=0.0, le=1.0)
    queue_depth_warn: dict[str, int] = Field(
        default_factory=lambda: {"hot": 500, "backfill": 5_000, "retry": 500, "dead": 100}
    )

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        # Accept a comma separated list as well as JSON, as operators write both.
        if isinstance(value, str) and not value.strip().startswith("["):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("queue_max_length", "queue_weights")
    @classmethod
    def _complete_per_queue(cls, value: dict[QueueName, int], info: ValidationInfo) -> Any:
        # A partial override ({"hot": 0}) changes that queue only: a missing queue would
        # otherwise surface as a KeyError on its first job, far from the mistake.
        floor = 1 if info.field_name == "queue_weights" else 0
        bad = {name: v for name, v in value.items() if v < floor}
        if bad:
            raise ValueError(f"values must be >= {floor}: {bad}")
        defaults = (
            _default_queue_weights()
            if info.field_name == "queue_weights"
            else _default_queue_limits()
        )
        return {**defaults, **value}

    @field_validator("revoked_key_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().startswith("["):
            return frozenset(v.strip() for v in value.split(",") if v.strip())
        return value

    @model_validator(mode="after")
    def _routes_resolve(self) -> Settings:
        # A route to an unknown provider must stop start-up, not fail the first chat request.
        resolve_routes(self.providers, self.chat_routes)
        return self

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        """Refuse to run without real keys: a gate that starts open is worse than one that fails."""
        if not self.api_keys:
            raise ValueError("PLATFORM_API_KEYS is empty: at least one API key is required")
        if not self.admin_keys:
            raise ValueError("PLATFORM_ADMIN_KEYS is empty: at least one admin key is required")
        for kind, keys in (("api", self.api_keys), ("admin", self.admin_keys)):
            for key_id, key in keys.items():
                problem = secret_problem(key.get_secret_value())
                if problem:
                    raise ValueError(f"{kind} key {key_id!r} is {problem}")
        for name in _OPTIONAL_SECRETS:
            value: SecretStr | None = getattr(self, name)
            problem = secret_problem(value.get_secret_value()) if value is not None else None
            if problem:
                raise ValueError(f"{name} is {problem}")
        return self

    @model_validator(mode="after")
    def _overrides_name_keys(self) -> Settings:
        # After the secrets check: a service given no keys must say so, not this.
        # A limit for a mistyped id would silently leave that key on the general limit.
        unknown = sorted(set(self.rate_limit_overrides) - set(self.api_keys) - set(self.admin_keys))
        if unknown:
            raise ValueError(f"rate_limit_overrides names unknown key ids: {unknown}")
        return self

    def redacted(self) -> dict[str, Any]:
        """The running configuration with every secret replaced by its presence and length."""
        data = self.model_dump(mode="json")
        for field in ("api_keys", "admin_keys"):
            keys: dict[str, SecretStr] = getattr(self, field)
            data[field] = {
                key_id: {
                    "present": True,
                    "length": len(key.get_secret_value()),
                    "weak": secret_problem(key.get_secret_value()) is not None,
                    "revoked": key_id in self.revoked_key_ids,
                }
                for key_id, key in keys.items()
            }
        for name in _OPTIONAL_SECRETS:
            value = getattr(self, name)
            data[name] = (
                None
                if value is None
                else {
                    "present": True,
                    "length": len(value.get_secret_value()),
                    "weak": secret_problem(value.get_secret_value()) is not None,
                }
            )
        data["redis_url"] = _redact_url(self.redis_url)
        return data

    def config_hash(self) -> str:
        """A stable digest of the redacted configuration, for configuration backups."""
        blob = json.dumps(self.redacted(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def _default_queue_limits() -> dict[QueueName, int]:
    return {"hot": 1_000, "backfill": 10_000}


def _default_queue_weights() -> dict[QueueName, int]:
    # 4:1 - hot latency barely moves, and a saturating hot load still leaves backfill 20 %.
    return {"hot": 4, "backfill": 1}


def secret_problem(value: str) -> str | None:
    """Why a secret is unacceptable, or None when it is fine."""
    if value.strip().lower() in KNOWN_DEFAULT_SECRETS:
        return "a known default value"
    if len(value) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    return None


def _redact_url(url: str) -> str:
    """Drop a password from a URL (redis://:pw@host) but keep where it points."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings(...)`` instead."""
    return Settings()
