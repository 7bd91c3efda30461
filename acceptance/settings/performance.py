"""Thresholds of the performance, load, release and post-deployment checks (SuiteConfig tables).

Three tables of ``preflight.toml``: ``[performance]`` (resources, response times, load),
``[postdeploy]`` (observation windows of the post-deployment phases) and ``[release]`` (what is
being released and what it replaces). Defaults are sized for the reference stack the suite boots:
short, bounded windows so the whole set stays within seconds. ``preflight.toml`` documents the
values a production run would use beside each default.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SLA_START_S = {"hot": 2.0, "backfill": 10.0}
DEFAULT_SLA_FINISH_S = {"hot": 5.0, "backfill": 20.0}
DEFAULT_WINDOWS_S = {"postdeploy_5m": 300.0, "postdeploy_1h": 3600.0, "postdeploy_24h": 86400.0}
DEFAULT_SAMPLES_S = {"postdeploy_5m": 1.0, "postdeploy_1h": 1.5, "postdeploy_24h": 1.5}
DEFAULT_SCHEDULED_S = {"arxiv_poll": 900.0, "backup": 86400.0, "retention_purge": 86400.0}


class PerformanceSettings(BaseModel):
    """Resources under the reference load, response times and the bounded load runs."""

    model_config = ConfigDict(extra="forbid")

    # --- reference load (resources.*): a fixed request rate, never a saturation test ---
    reference_rps: float = Field(default=40.0, gt=0, description="requests/s. Default: 40.0")
    reference_users: int = Field(default=4, ge=1, description="concurrent users. Default: 4")
    reference_s: float = Field(default=2.5, gt=0, description="load duration. Default: 2.5")
    sample_interval_s: float = Field(
        default=0.1, gt=0, description="CPU/RSS sampling period. Default: 0.1"
    )
    cpu_min_percent: float = Field(
        default=0.5, ge=0, description="the API must do visible work under load. Default: 0.5"
    )
    cpu_max_percent: float = Field(
        default=90.0, gt=0, description="per process, % of one core. Default: 90.0"
    )
    memory_slope_max_mb_per_min: float = Field(
        default=120.0, description="RSS growth of any process under load. Default: 120.0"
    )
    # --- disk and network ---
    disk_min_free_ratio: float = Field(
        default=0.05, ge=0, le=1, description="per reported volume. Default: 0.05"
    )
    disk_min_free_mb: float = Field(default=200.0, ge=0, description="per volume. Default: 200.0")
    network_probes: int = Field(default=20, ge=2, description="connections each. Default: 20")
    network_jitter_max_ms: float = Field(
        default=50.0, ge=0, description="stdev of connect+answer times. Default: 50.0"
    )
    # --- response times (targets per endpoint: [slo.endpoint_p95_ms]) ---
    latency_samples: int = Field(default=30, ge=5, description="per endpoint. Default: 30")
    db_p95_ms: float = Field(
        default=50.0, gt=0, description="datastore/search query p95 (metrics). Default: 50.0"
    )
    sla_jobs: int = Field(default=10, ge=1, description="jobs per queue measured. Default: 10")
    sla_start_p95_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SLA_START_S),
        description="enqueue-to-start p95 per queue. Default: hot 2, backfill 10",
    )
    sla_finish_p95_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SLA_FINISH_S),
        description="enqueue-to-finish p95 per queue. Default: hot 5, backfill 20",
    )
    # --- load runs ---
    users: int = Field(default=10, ge=1, description="concurrent users. Default: 10")
    load_s: float = Field(default=3.0, gt=0, description="concurrent-users run. Default: 3.0")
    load_p95_ms: float = Field(default=1000.0, gt=0, description="under load. Default: 1000.0")
    arrival_rate_per_s: float = Field(
        default=20.0, gt=0, description="expected job arrivals. Default: 20.0"
    )
    bottleneck_s: float = Field(default=3.0, gt=0, description="arrival run. Default: 3.0")
    depth_growth_max: int = Field(
        default=10, ge=0, description="depth rise over the arrival run. Default: 10"
    )
    drain_timeout_s: float = Field(default=10.0, gt=0, description="backlog gone. Default: 10.0")
    soak_warmup_s: float = Field(default=1.0, ge=0, description="not judged. Default: 1.0")
    soak_s: float = Field(default=3.0, gt=0, description="judged soak. Default: 3.0")
    leak_slope_max_mb_per_min: float = Field(
        default=120.0, description="RSS slope of every process after warm-up. Default: 120.0"
    )
    # --- overload spike (load.recovery): more users at once than the target serves at once ---
    spike_users: int = Field(
        default=96,
        ge=1,
        description="concurrent users of the spike; above the target's in-flight"
        " capacity, its limit times its API processes (the stack's: 32 x 2). Default: 96",
    )
    spike_requests: int = Field(default=600, ge=1, description="spike size at most. Default: 600")
    spike_max_s: float = Field(default=5.0, gt=0, description="spike cut-off. Default: 5.0")
    spike_shed_enough: int = Field(
        default=20, ge=1, description="the spike ends once this many were shed. Default: 20"
    )
    spike_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="longest wait for one answer during the spike: requests the target admitted"
        " queue at its provider (the stack's: 64 admitted, 16 generated at a time), so the tail"
        " of a spike outlasts http_timeout_s without anything failing. Default: 30.0",
    )
    baseline_probes: int = Field(
        default=10, ge=2, description="sequential requests measuring the baseline. Default: 10"
    )
    recovery_probes: int = Field(
        default=5, ge=1, description="sequential requests per recovery poll. Default: 5"
    )
    recovery_max_s: float = Field(
        default=15.0, gt=0, description="back to baseline after the spike. Default: 15.0"
    )
    baseline_factor: float = Field(
        default=3.0, ge=1, description="recovered: p50 <= factor x baseline + slack. Default: 3.0"
    )
    baseline_slack_ms: float = Field(default=50.0, ge=0, description="Default: 50.0")
    regression_tolerance: float = Field(
        default=0.5,
        ge=0,
        description="allowed rise over the baseline run (0.5 = +50%). Default: 0.5",
    )
    regression_floor_ms: float = Field(
        default=25.0, ge=0, description="rises below this many ms never count. Default: 25.0"
    )
    regression_confirm_runs: int = Field(
        default=2,
        ge=0,
        le=10,
        description="measurements repeated when a regression is seen; "
        "an endpoint regresses only if its best p95 of all of them does. Default: 2",
    )


class PostdeploySettings(BaseModel):
    """Windows of the post-deployment phases and where their history can be read."""

    model_config = ConfigDict(extra="forbid")

    window_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WINDOWS_S),
        description="look-back per phase (logs, restarts). Default: 300 / 3600 / 86400",
    )
    sample_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SAMPLES_S),
        description="live observation per phase. Default: 1.0 / 1.5 / 1.5",
    )
    deployed_at: dt.datetime | None = Field(
        default=None, description="deployment start; None: the stack's start or the window"
    )
    min_requests: int = Field(default=1, ge=0, description="traffic flowing. Default: 1")
    error_ratio_max: float = Field(default=0.01, ge=0, le=1, description="5xx. Default: 0.01")
    memory_growth_max_mb: float = Field(default=64.0, ge=0, description="Default: 64.0")
    disk_growth_max_mb: float = Field(default=256.0, ge=0, description="Default: 256.0")
    external_components: list[str] = Field(
        default_factory=lambda: ["providers", "ingestion"],
        description="/health components of external connections. Default: providers, ingestion",
    )
    scheduled_jobs_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SCHEDULED_S),
        description="scheduled job -> period. Default: arxiv_poll 900, backup/purge 86400",
    )
    scheduled_jobs_wait_s: float = Field(
        default=30.0,
        gt=0,
        description="longest wait for a just-booted target's first run of"
        " each scheduled job. Default: 30.0",
    )
    prometheus_url: str | None = Field(default=None, description="None: the stack's, if any")
    alertmanager_url: str | None = Field(default=None, description="None: the stack's, if any")
    watchdog_alert: str = Field(default="Watchdog", description="Default: 'Watchdog'")
    monitoring_wait_s: float = Field(
        default=20.0,
        gt=0,
        description="longest wait for the target to be scraped up and the Watchdog to reach "
        "Alertmanager (a fresh Prometheus needs ~5 s). Default: 20.0",
    )


class ReleaseSettings(BaseModel):
    """What is being released, what it replaces, where the configuration backup is."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(
        default=None, description="version under release; None: newest CHANGELOG entry"
    )
    previous_version: str | None = Field(
        default=None, description="release to roll back to; None: the CHANGELOG entry before"
    )
    tag: str | None = Field(default=None, description="release tag whose commit must be deployed")
    changelog: Path = Field(default=Path("CHANGELOG.md"), description="Default: CHANGELOG.md")
    compatibility: Path = Field(
        default=Path("ops/compatibility.yaml"), description="schema range per release"
    )
    config_snapshot: Path | None = Field(
        default=None, description="configuration backup; None: the stack's snapshot"
    )
