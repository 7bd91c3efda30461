"""SuiteConfig: preflight.toml documents the defaults; PREFLIGHT_* overrides; options win."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from acceptance.settings import ConfigError, SuiteConfig, load_suite_config
from tests.support.suite_runs import RunSuite

REPO_TOML = Path(__file__).parents[2] / "preflight.toml"


def test_repository_toml_equals_defaults() -> None:
    """The shipped preflight.toml states exactly the built-in defaults."""
    from_file = load_suite_config(REPO_TOML).model_dump()
    assert from_file == load_suite_config(None).model_dump()


def test_every_field_is_documented_in_toml() -> None:
    """Each top-level key appears in preflight.toml (set or commented)."""
    text = REPO_TOML.read_text()
    missing = [name for name in SuiteConfig.model_fields if name not in text]
    assert not missing


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PREFLIGHT_* beats preflight.toml, nested keys with a double underscore."""
    toml = tmp_path / "preflight.toml"
    toml.write_text("http_timeout_s = 3.0\nworkers_min = 4\n[queue_depth_max]\nhot = 7\n")
    monkeypatch.setenv("PREFLIGHT_HTTP_TIMEOUT_S", "9.5")
    monkeypatch.setenv("PREFLIGHT_QUEUE_DEPTH_MAX__DEAD", "3")
    config = load_suite_config(toml)
    assert config.http_timeout_s == 9.5
    assert config.workers_min == 4
    assert config.queue_depth_max["hot"] == 7 and config.queue_depth_max["dead"] == 3


def test_waivers_parse(tmp_path: Path) -> None:
    """[[waivers]] entries become Waiver objects with a date."""
    toml = tmp_path / "p.toml"
    toml.write_text('[[waivers]]\nid = "a.b"\nreason = "r"\nowner = "o"\nexpires = 2030-01-02\n')
    (waiver,) = load_suite_config(toml).waivers
    assert waiver.expires == dt.date(2030, 1, 2)
    assert not waiver.expired(dt.date(2030, 1, 2)) and waiver.expired(dt.date(2030, 1, 3))


def test_invalid_bounds_refused(tmp_path: Path) -> None:
    """A policy whose minimum exceeds its maximum is a configuration error."""
    toml = tmp_path / "p.toml"
    toml.write_text("rate_limit_min_per_minute = 100\nrate_limit_max_per_minute = 10\n")
    with pytest.raises(ConfigError):
        load_suite_config(toml)


def test_target_from_environment(
    pytester: pytest.Pytester, run_suite: RunSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PREFLIGHT_TARGET selects an external target when --target is absent."""
    monkeypatch.setenv("PREFLIGHT_TARGET", "https://127.0.0.1:2")
    pytester.makepyfile(
        test_t="""
import pytest

@pytest.mark.checklist("health.endpoints-ok")
def test_t(target, client):
    assert target.url == "https://127.0.0.1:2"
    assert target.stack is None and not target.booted
    assert target.api_key == "k1"
"""
    )
    run = run_suite("--api-key", "k1", target=False)
    assert run.item("health.endpoints-ok")["verdict"] == "pass"
    assert run.checklist["target"]["url"] == "https://127.0.0.1:2"


def test_missing_keys_are_not_verified(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """admin_client without an admin key, log_source against an external target without a log
    command: not verified, naming the setting."""
    pytester.makepyfile(
        test_k="""
import pytest

@pytest.mark.checklist("auth.admin-protected")
def test_admin(admin_client):
    pass

@pytest.mark.checklist("data.no-recent-errors")
def test_logs(log_source):
    pass
"""
    )
    run = run_suite()
    assert run.item("auth.admin-protected")["reason"].startswith("no admin key")
    assert run.item("data.no-recent-errors")["reason"] == (
        "no log access: set [logs] command (PREFLIGHT_LOGS__COMMAND)"
    )


def test_github_token_only_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ops.user_issues_token in a file is refused (without echoing it); the environment works."""
    toml = tmp_path / "p.toml"
    toml.write_text('[ops]\nuser_issues_token = "ghp_fromfile"\n')
    with pytest.raises(ConfigError, match="PREFLIGHT_OPS__USER_ISSUES_TOKEN") as caught:
        load_suite_config(toml)
    assert "ghp_fromfile" not in str(caught.value)
    monkeypatch.setenv("PREFLIGHT_OPS__USER_ISSUES_TOKEN", "ghp_fromenv")
    token = load_suite_config(REPO_TOML).ops.user_issues_token
    assert token is not None and token.get_secret_value() == "ghp_fromenv"
    assert "ghp_fromenv" not in repr(load_suite_config(REPO_TOML))
