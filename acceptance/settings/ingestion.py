"""Thresholds of the ingestion checks: the ``[ingestion]`` table of ``preflight.toml``.

arXiv cadence, webhooks, robots.txt, external rate limits, personal data, sandbox, freshness.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class IngestionSettings(BaseModel):
    """``SuiteConfig.ingestion``; every default is repeated in the repository's preflight.toml."""

    model_config = ConfigDict(extra="forbid")

    arxiv_min_interval_s: float = Field(
        default=3.0, ge=3.0, description="arXiv's terms: no two requests closer. Default: 3.0"
    )
    arxiv_cadence_min_requests: int = Field(
        default=4, ge=2, description="arXiv requests observed before judging gaps. Default: 4"
    )
    arxiv_cadence_timeout_s: float = Field(
        default=30.0, gt=0, description="longest wait for those requests. Default: 30.0"
    )
    arxiv_retry_after_s: int = Field(
        default=5,
        ge=1,
        description="Retry-After of the 503 the ToS check injects; well above the 3 s cadence,"
        " so an ignored Retry-After shows as a normal gap. Default: 5",
    )
    external_retry_after_s: int = Field(
        default=2,
        ge=1,
        description="Retry-After of the 429 the rate-limit check injects. Default: 2",
    )
    external_rate_limit_fetches: int = Field(
        default=8,
        ge=2,
        description="page fetches the rate-limit check starts at once (more than one worker"
        " process must take part for a per-process limit to show). Default: 8",
    )
    egress_metadata_url: str = Field(
        default="http://169.254.169.254/latest/meta-data/",
        description="the cloud metadata URL opsec.egress asks the platform to fetch (it must be"
        " refused). Default: 'http://169.254.169.254/latest/meta-data/'",
    )
    egress_private_url: str = Field(
        default="http://10.0.0.1/egress-canary",
        description="a private-range URL opsec.egress asks the platform to fetch (it must be"
        " refused). Default: 'http://10.0.0.1/egress-canary'",
    )
    webhook_ack_max_s: float = Field(
        default=1.0, gt=0, description="a webhook must be answered within this. Default: 1.0"
    )
    ingest_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="longest wait for an event to become searchable. Default: 30.0",
    )
    freshness_max_age_s: float = Field(
        default=900.0,
        gt=0,
        description="last ingestion and last completed job at most this old. Default: 900.0",
    )
    freshness_wait_s: float = Field(
        default=10.0, gt=0, description="wait for a first poll on a fresh deployment. Default: 10.0"
    )
    egress_redirect_url: str | None = Field(
        default=None,
        description="an allowlisted URL that redirects to {url} (opsec.egress sends forbidden "
        "destinations through it); None: the reference stack's robots site's /redirect. "
        "Default: None",
    )
    outbound_source: Literal["auto", "site", "platform"] = Field(
        default="auto",
        description="whose record of the platform's outbound requests the arXiv and ToS checks "
        "judge: 'site' (the reference stack's emulators' request logs, the receiving side), "
        "'platform' (GET /admin/outbound/requests, admin key), 'auto' (the site's where the "
        "stack has it, else the platform's). Default: 'auto'",
    )
    robots_site_url: str | None = Field(
        default=None,
        description="a site the platform may fetch pages from (egress allowlist) whose robots.txt"
        " disallows robots_disallowed_prefixes; None: the reference stack's robots emulator. "
        "Default: None",
    )
    robots_allowed_prefix: str = Field(
        default="/models/open-",
        description="a path prefix the site's robots.txt allows. Default: '/models/open-'",
    )
    robots_disallowed_prefixes: list[str] = Field(
        default_factory=lambda: ["/private/secret-", "/models/gated-"],
        description="path prefixes the site's robots.txt disallows. "
        "Default: ['/private/secret-', '/models/gated-']",
    )
    webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="webhook secrets of an external target, by sender ('github', "
        "'huggingface'), so the webhook checks can sign events; environment only "
        "(PREFLIGHT_INGESTION__WEBHOOK_SECRETS__GITHUB), refused in preflight.toml; a reference "
        "stack publishes its own. Default: {}",
    )


def secrets_in_file(table: object) -> list[str]:
    """``webhook_secrets`` present in a parsed ``[ingestion]`` table (should be absent)."""
    return ["webhook_secrets"] if isinstance(table, dict) and "webhook_secrets" in table else []
