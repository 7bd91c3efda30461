"""Configuration: the CORS policy lets the allowed origins in and is not a wildcard."""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import admin_settings


def preflight(client: httpx.Client, origin: str, path: str = "/enqueue") -> httpx.Response:
    """A browser's CORS preflight for a credentialed JSON POST."""
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def allowed_origins(config: SuiteConfig, admin_client: httpx.Client | None) -> list[str]:
    """Origins the policy should admit: from preflight.toml, else the target's own config."""
    if config.cors_allowed_origins:
        return list(config.cors_allowed_origins)
    if admin_client is None:
        not_verified("no allowed origin configured (cors_allowed_origins) and no admin key")
    origins = [o for o in admin_settings(admin_client)["cors_allow_origins"] if o != "*"]
    if not origins:
        not_verified("the target allows no origin: nothing to verify an allowed preflight with")
    return origins


@pytest.mark.checklist("config.cors")
def test_allowed_origin_preflight_echoed(
    anon_client: httpx.Client,
    optional_admin_client: httpx.Client | None,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """A preflight from an allowed origin is echoed with the methods and headers a client needs."""
    origin = allowed_origins(config, optional_admin_client)[0]
    response = preflight(anon_client, origin)
    allow_origin = response.headers.get("access-control-allow-origin")
    methods = response.headers.get("access-control-allow-methods", "").upper()
    headers = response.headers.get("access-control-allow-headers", "").lower()
    evidence.add(
        origin=origin,
        status=response.status_code,
        allow_origin=allow_origin,
        allow_methods=methods,
        allow_headers=headers,
    )
    assert response.status_code in (200, 204), f"preflight answered {response.status_code}"
    assert allow_origin == origin, f"allowed origin {origin} not echoed (got {allow_origin!r})"
    assert "POST" in methods, f"POST not allowed for {origin}: {methods!r}"
    assert "authorization" in headers, f"Authorization header not allowed: {headers!r}"


@pytest.mark.checklist("config.cors")
def test_no_wildcard_with_credentials(
    anon_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """An arbitrary origin is not admitted, and a wildcard never comes with credentials."""
    response = preflight(anon_client, config.cors_unlisted_origin)
    allow_origin = response.headers.get("access-control-allow-origin")
    credentials = response.headers.get("access-control-allow-credentials", "").lower() == "true"
    evidence.add(
        probe_origin=config.cors_unlisted_origin,
        allow_origin=allow_origin,
        allow_credentials=credentials,
    )
    assert not (allow_origin == "*" and credentials), "wildcard origin together with credentials"
    assert allow_origin not in ("*", config.cors_unlisted_origin), (
        f"the policy admits any origin (Access-Control-Allow-Origin: {allow_origin})"
    )
