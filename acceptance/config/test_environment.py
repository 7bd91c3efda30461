"""Configuration: the settings fit the environment the target runs in.

The environment is the one the suite is told to expect (``expected_environment``), else the one
the target reports; its ``[environments.<name>]`` table says what debug flag, docs exposure, log
levels and endpoint schemes are acceptable there.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import admin_settings, health
from acceptance.support.endpoints import endpoint_urls, plain_http

DOCS_PATHS = ("/docs", "/redoc")


@pytest.mark.checklist("config.environment")
def test_settings_fit_environment(
    anon_client: httpx.Client, admin_client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Environment, debug flag, log level, docs exposure and endpoints match the expectations."""
    reported = health(anon_client).get("environment")
    settings: dict[str, Any] = admin_settings(admin_client)
    environment = config.expected_environment or reported
    expected = config.environments.get(str(environment))
    docs = {path: anon_client.get(path).status_code for path in DOCS_PATHS}
    docs_exposed = any(code == 200 for code in docs.values())
    urls = endpoint_urls(settings)
    evidence.add(
        expected_environment=config.expected_environment,
        reported_environment=reported,
        configured_environment=settings.get("environment"),
        debug=settings.get("debug"),
        log_level=settings.get("log_level"),
        docs=docs,
        endpoints=urls,
        expectations=expected.model_dump() if expected else None,
    )
    problems: list[str] = []
    if config.expected_environment and reported != config.expected_environment:
        problems.append(f"reports environment {reported!r}, expected {environment!r}")
    if settings.get("environment") != reported:
        problems.append(f"/health says {reported!r}, the config {settings.get('environment')!r}")
    if expected is None:
        if problems:
            pytest.fail("; ".join(problems))
        not_verified(f"no [environments.{environment}] expectations configured")
    if expected.debug is not None and settings.get("debug") != expected.debug:
        problems.append(f"debug is {settings.get('debug')}, expected {expected.debug}")
    if expected.docs_exposed is not None and docs_exposed != expected.docs_exposed:
        problems.append(f"docs exposed: {docs_exposed}, expected {expected.docs_exposed}")
    if settings.get("log_level") not in expected.log_levels:
        problems.append(f"log level {settings.get('log_level')} not in {expected.log_levels}")
    if expected.https_endpoints and plain_http(urls):
        problems.append(f"plain-http endpoints: {plain_http(urls)}")
    assert not problems, f"{environment}: " + "; ".join(problems)
