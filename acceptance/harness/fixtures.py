"""Fixtures a check can use (docs/DESIGN.md, "Suite contract"); registered by the plugin.

The target is session-scoped and created lazily: a run that selects no check needing it never
boots or contacts anything. Clients are per test so no connection state leaks between checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from acceptance.harness.evidence import Evidence, evidence_of
from acceptance.harness.polite import PoliteTransport
from acceptance.harness.release import tagged_ids, version_under_release
from acceptance.harness.runstate import RUN_STATE, WORKER_IDENTITY
from acceptance.harness.target import USER_AGENT, Target, open_target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.logs import LogSource, choose_source
from acceptance.support.redaction import redactor_for

__all__ = [
    "Evidence",
    "admin_client",
    "anon_client",
    "client",
    "client_2",
    "config",
    "evidence",
    "evidence_of",
    "log_access",
    "log_source",
    "optional_admin_client",
    "raw_client",
    "raw_client_2",
    "raw_limit_client",
    "target",
]


@pytest.fixture(scope="session")
def config(pytestconfig: pytest.Config) -> SuiteConfig:
    """Thresholds and expectations from preflight.toml and PREFLIGHT_* (acceptance/settings/)."""
    return pytestconfig.stash[RUN_STATE].config


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    """The live target; boots the reference stack (once per process) when none was given."""
    state = pytestconfig.stash[RUN_STATE]
    with open_target(state.spec, timeout=state.config.report.fetch_version_timeout_s) as live:
        state.identity = live.identity
        workeroutput = getattr(pytestconfig, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKER_IDENTITY] = json.dumps(live.identity)
        yield live


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """``evidence.add(name=value, ...)`` attaches figures to the test's checklist items."""
    return evidence_of(request.node)


@pytest.fixture
def new_in_release(request: pytest.FixtureRequest, config: SuiteConfig) -> bool:
    """True for a check marked ``since(V)`` when V is the version under release: the release
    claims that behaviour, so a route it lacks is the release's failure, not a gap in what the
    suite can reach (not verified is for a target older than the behaviour)."""
    return bool(tagged_ids(request.node, version_under_release(config)))


@pytest.fixture(scope="session")
def log_access(target: Target, config: SuiteConfig) -> LogSource | str:
    """The run's log source, or why there is none; one per session, so a log command that hung
    once is not waited out again by every later check."""
    return choose_source(target, config, redactor_for(target, config))


@pytest.fixture
def log_source(log_access: LogSource | str) -> LogSource:
    """Where the platform's records are read (acceptance/support/logs/); not verified without."""
    if isinstance(log_access, str):
        not_verified(log_access)
    return log_access


def _client(
    target: Target, config: SuiteConfig, key: str | None, *, polite: bool = True
) -> httpx.Client:
    headers = {"User-Agent": USER_AGENT}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    transport: httpx.BaseTransport = httpx.HTTPTransport(verify=target.verify)
    if polite:
        transport = PoliteTransport(transport, config.rate_limit_wait_max_s)
    return httpx.Client(
        base_url=target.url, transport=transport, timeout=config.http_timeout_s, headers=headers
    )


# Which key each authenticated client uses, and how to give it when it is missing.
_KEYS = {
    "api": ("api_key", "no API key (use --api-key or PREFLIGHT_API_KEY)"),
    "api_2": ("api_key_2", "no second API key (use --api-key-2 or PREFLIGHT_API_KEY_2)"),
    "admin": ("admin_key", "no admin key (use --admin-key or PREFLIGHT_ADMIN_KEY)"),
}


def _keyed(
    target: Target, config: SuiteConfig, which: str, *, polite: bool = True
) -> Iterator[httpx.Client]:
    """A client with the named key; the check is not verified when the suite was given none."""
    attribute, missing = _KEYS[which]
    key: str | None = getattr(target, attribute)
    if key is None:
        not_verified(missing)
    with _client(target, config, key, polite=polite) as http:
        yield http


@pytest.fixture
def client(target: Target, config: SuiteConfig) -> Iterator[httpx.Client]:
    """httpx client authenticated with the ordinary API key."""
    yield from _keyed(target, config, "api")


@pytest.fixture
def client_2(target: Target, config: SuiteConfig) -> Iterator[httpx.Client]:
    """httpx client authenticated with the second ordinary API key (per-key behaviour)."""
    yield from _keyed(target, config, "api_2")


@pytest.fixture
def raw_client(target: Target, config: SuiteConfig) -> Iterator[httpx.Client]:
    """Like ``client`` but sees every 429: for the checks about rate limits themselves."""
    yield from _keyed(target, config, "api", polite=False)


@pytest.fixture
def raw_client_2(target: Target, config: SuiteConfig) -> Iterator[httpx.Client]:
    """Like ``client_2`` but sees every 429: for the checks about rate limits themselves."""
    yield from _keyed(target, config, "api_2", polite=False)


@pytest.fixture
def raw_limit_client(target: Target, config: SuiteConfig) -> Iterator[httpx.Client]:
    """A raw client on the key whose budget a check may spend: the target's rate-limit key (its
    own short window, so the reset comes in seconds), else the ordinary API key."""
    if target.rate_limit_key is None:
        yield from _keyed(target, config, "api", polite=False)
        return
    with _client(target, config, target.rate_limit_key, polite=False) as http:
        yield http


@pytest.fixture
def anon_client(target: Target, config: SuiteConfig) -> Iterator[httpx.Client]:
    """httpx client without credentials."""
    with _client(target, config, None) as http:
        yield http


@pytest.fixture
def optional_admin_client(target: Target, config: SuiteConfig) -> Iterator[httpx.Client | None]:
    """The admin client, or None without an admin key: for checks that only use it if present."""
    if target.admin_key is None:
        yield None
        return
    with _client(target, config, target.admin_key) as http:
        yield http


@pytest.fixture
def admin_client(target: Target, config: SuiteConfig) -> Iterator[httpx.Client]:
    """httpx client authenticated with the admin key."""
    yield from _keyed(target, config, "admin")
