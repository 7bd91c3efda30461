"""Which of Prometheus' series and scrape targets are the platform's (``[monitoring]``).

A real Prometheus scrapes the platform's pods or processes at their own addresses, never at the
public URL (that is the ingress), so the platform is known by its labels: the scrape ``job`` and,
where one Prometheus watches several deployments, an ``instance`` pattern. Kept apart from
``acceptance/settings/suite.py`` so that file stays the one place of the suite's top-level keys.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator


class MonitoringSettings(BaseModel):
    """The labels that select the platform in Prometheus."""

    model_config = ConfigDict(extra="forbid")

    job: str = Field(
        default="platform",
        min_length=1,
        description="the scrape job of the platform's API processes (the alert rules' "
        'up{job="platform"}). Default: "platform"',
    )
    instance: str | None = Field(
        default=None,
        description="regular expression the whole instance label must match (e.g. "
        '"api-.*:8000" for one deployment among several); None: every instance of the job. '
        "Default: None",
    )

    sample_wait_s: float = Field(
        default=30.0,
        gt=0,
        description="longest wait for Prometheus to hold a sample taken after a measured window "
        "(one scrape interval is enough). Default: 30.0",
    )

    @field_validator("instance")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"instance is not a regular expression: {exc}") from exc
        return value

    def selects(self, labels: dict[str, str]) -> bool:
        """Whether a target or series with these labels is the platform's."""
        if labels.get("job") != self.job:
            return False
        if self.instance is None:
            return True
        return re.fullmatch(self.instance, labels.get("instance", "")) is not None
