"""Which of Prometheus' series are the platform's: the ``[monitoring]`` table of ``preflight.toml``.

A real Prometheus scrapes each process (pod) of the platform at its own address, so the suite
selects the platform's series by their labels, never by the public URL: ``job`` (the scrape job)
and an optional ``instance`` matcher (a regular expression, as ``instance=~"..."``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MonitoringSettings(BaseModel):
    """``SuiteConfig.monitoring``; every default is repeated in the repository's preflight.toml."""

    model_config = ConfigDict(extra="forbid")

    job: str = Field(
        default="platform",
        min_length=1,
        description="Prometheus job label of the platform's scrape targets. Default: 'platform'",
    )
    instance: str | None = Field(
        default=None,
        description="regular expression the instance label must match (instance=~); None: "
        "every instance of the job. Default: None",
    )
    sample_wait_s: float = Field(
        default=30.0,
        gt=0,
        description="longest wait for Prometheus to hold a sample taken after a measured window "
        "(one scrape interval is enough). Default: 30.0",
    )
