"""OpsSettings: where the operations artefacts live and what the release gate expects of them.

The ``[ops]`` table of ``preflight.toml`` (``SuiteConfig.ops``). Kept out of ``config.py`` because
it is one idea (the artefacts of ``ops/`` and the tools that check them) with many fields. The
changelog path is ``[release] changelog`` and the live Prometheus/Alertmanager URLs are
``[postdeploy] prometheus_url/alertmanager_url``: one deployment has one of each.
Relative paths are resolved against the pytest root directory (the repository), so a self-test can
point every path at a broken copy with absolute paths in a temporary ``preflight.toml``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# Required alert conditions: name -> selector the rule expression must use. A selector is a metric
# name with optional label matchers written as in PromQL; the metric must be one the target's
# /metrics exposes (except `up`, which Prometheus writes itself for every scrape).
DEFAULT_ALERT_CONDITIONS = {
    "service_down": "up",
    "error_ratio": 'platform_http_requests_total{status=~"5.."}',
    "ttft": "platform_llm_ttft_seconds_bucket",
    "backlog": 'platform_queue_depth{queue="hot"}',
    "dead_letters": 'platform_queue_depth{queue="dead"}',
    "provider_down": "platform_llm_provider_up",
}
DEFAULT_TOS_SERVICES = ["arxiv", "huggingface", "github", "vllm", "ollama"]
# Credentials of [ops]: accepted from PREFLIGHT_OPS__<NAME> only, so that a token never lands in
# a preflight.toml that is committed, shared or copied next to a report.
ENVIRONMENT_ONLY = ("user_issues_token",)


class OpsSettings(BaseModel):
    """Paths, tools and thresholds of the Alerting, contacts, release-notes and ToS checks."""

    model_config = ConfigDict(extra="forbid")

    rules_files: list[Path] = Field(
        default_factory=lambda: [Path("ops/prometheus/alerts.yml")],
        description="Prometheus alert rule files. Default: ['ops/prometheus/alerts.yml']",
    )
    rule_tests: list[Path] = Field(
        default_factory=lambda: [Path("ops/prometheus/alerts_test.yml")],
        description="promtool rule unit test files. Default: ['ops/prometheus/alerts_test.yml']",
    )
    alertmanager_config: Path = Field(default=Path("ops/alertmanager/alertmanager.yml"))
    runbooks_dir: Path = Field(default=Path("ops/runbooks"), description="runbook_url targets")
    contacts_file: Path = Field(default=Path("ops/contacts.yaml"))
    comms_plan: Path = Field(default=Path("ops/communication-plan.md"))
    comms_plan_sections: list[str] = Field(
        default_factory=lambda: ["Audiences", "Channels", "Templates"],
        description="headings the communication plan must have. "
        "Default: ['Audiences', 'Channels', 'Templates']",
    )
    tos_register: Path = Field(default=Path("ops/tos-register.yaml"))
    tos_services: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TOS_SERVICES),
        description="external services the ToS register must list. "
        "Default: arxiv, huggingface, github, vllm, ollama",
    )

    promtool: str = Field(default="promtool", description="promtool executable. Default: promtool")
    amtool: str = Field(default="amtool", description="amtool executable. Default: amtool")
    alertmanager_binaries: list[str] = Field(
        default_factory=lambda: ["alertmanager", "prometheus-alertmanager"],
        description="Alertmanager executables tried in order (Debian names it "
        "prometheus-alertmanager). Default: ['alertmanager', 'prometheus-alertmanager']",
    )
    tool_timeout_s: float = Field(default=60.0, gt=0, description="per tool run. Default: 60.0")
    delivery_timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="a test alert must reach its receiver within this. Default: 20.0",
    )

    alert_conditions: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ALERT_CONDITIONS),
        description="condition -> selector a critical alert's expression must use",
    )
    alert_min_for_s: float = Field(
        default=60.0,
        ge=0,
        description="shortest for: of an alert (severity none exempt). Default: 60.0",
    )
    alert_severities: list[str] = Field(
        default_factory=lambda: ["critical", "warning", "info", "none"],
        description="allowed severity labels. Default: critical, warning, info, none",
    )
    repeat_interval_min_s: float = Field(
        default=3600.0,
        gt=0,
        description="shortest repeat_interval of a route (the Watchdog's "
        "heartbeat route exempt). Default: 3600.0",
    )

    # post24h.user-issues reads one source: the file if set, else GitHub if a repository is
    # set, else the reference stack's GitHub emulator; against an external target: none.
    user_issues_file: Path | None = Field(
        default=None,
        description="JSON/YAML export of user-reported issues (wins over GitHub). Default: None",
    )
    user_issues_repo: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="GitHub repository 'owner/name' whose issues are counted; None: the "
        "stack's GitHub emulator (no source against an external target). Default: None",
    )
    user_issues_api: str = Field(
        default="https://api.github.com",
        pattern=r"^https?://",
        description="GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3). "
        "Default: 'https://api.github.com'",
    )
    user_issues_token: SecretStr | None = Field(
        default=None,
        description="GitHub token for user_issues_repo: only from the environment "
        "(PREFLIGHT_OPS__USER_ISSUES_TOKEN), refused in preflight.toml. Default: None",
    )
    user_issues_max_pages: int = Field(
        default=10, ge=1, le=100, description="pages of 100 issues read at most. Default: 10"
    )
    user_issues_rate_wait_max_s: float = Field(
        default=10.0,
        ge=0,
        description="longest total wait on GitHub's rate-limit answers (retry-after, "
        "x-ratelimit-reset); longer: not verified. Default: 10.0",
    )
    user_issues_max: int = Field(
        default=5, ge=0, description="most issues labelled for the release. Default: 5"
    )
    user_issues_label: str = Field(
        default="release:{version}",
        description="label of the release's issues; {version} is the target's. "
        "Default: 'release:{version}'",
    )


def secrets_in_file(table: object) -> list[str]:
    """The ``ENVIRONMENT_ONLY`` keys present in a parsed ``[ops]`` table (should be none)."""
    return [name for name in ENVIRONMENT_ONLY if isinstance(table, dict) and name in table]
