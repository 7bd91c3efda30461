"""Configuration: the effective rate limits lie within the policy the suite is configured with."""

from __future__ import annotations

import httpx
import pytest
from limits import parse

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.api import admin_settings


def per_minute(limit: str) -> float:
    """A `limits` expression ("600/minute", "10 per second") as requests per minute."""
    item = parse(limit)
    return item.amount * 60 / item.get_expiry()


@pytest.mark.checklist("config.rate-limits")
def test_effective_limits_within_policy(
    admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Rate limiting is on and each key class's limit, and each key's own, lies inside the
    policy bounds."""
    settings = admin_settings(admin_client)
    limits = {"api": settings["rate_limit"], "admin": settings["admin_rate_limit"]}
    # A target without per-key limits (or an older service) has no such setting.
    for key_id, limit in (settings.get("rate_limit_overrides") or {}).items():
        limits[f"key {key_id}"] = limit
    rates = {name: per_minute(value) for name, value in limits.items()}
    low, high = config.rate_limit_min_per_minute, config.rate_limit_max_per_minute
    evidence.add(
        enabled=settings["rate_limit_enabled"],
        limits=limits,
        per_minute=rates,
        policy_per_minute=[low, high],
    )
    assert settings["rate_limit_enabled"], "rate limiting is switched off"
    outside = {n: r for n, r in rates.items() if not low <= r <= high}
    assert not outside, f"limits outside policy [{low}, {high}]/min: {outside}"
