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

from pydantic import BaseModel, ConfigDict, Field

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

    user_issues_file: Path | None = Field(
        default=None,
        description="JSON/YAML export of user-reported issues; None: no source. Default: None",
    )
    user_issues_max: int = Field(
        default=5, ge=0, description="most issues labelled for the release. Default: 5"
    )
    user_issues_label: str = Field(
        default="release:{version}",
        description="label of the release's issues; {version} is the target's. "
        "Default: 'release:{version}'",
    )
