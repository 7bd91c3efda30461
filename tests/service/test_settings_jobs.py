"""Validation of the job system's settings: per-queue dicts, weights, limits, pause bound."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from service.settings import Settings
from tests.support.jobs import make_job_settings


def _settings(**overrides: Any) -> Settings:
    return make_job_settings("redis://127.0.0.1:1/0", **overrides)


def test_defaults_keep_four_hot_then_one_backfill_and_dead_letters() -> None:
    s = _settings()
    assert s.queue_weights == {"hot": 4, "backfill": 1}
    assert s.dead_letter_enabled is True
    assert s.queue_pause_max_s == 300
    assert "backfill_share" not in Settings.model_fields


def test_partial_per_queue_dicts_keep_the_other_queue_default() -> None:
    """{"hot": 0} (no limit on hot) must not drop the backfill limit or crash on its first job."""
    s = _settings(queue_max_length={"hot": 0}, queue_weights={"backfill": 50})
    assert s.queue_max_length == {"hot": 0, "backfill": 10_000}
    assert s.queue_weights == {"hot": 4, "backfill": 50}


@pytest.mark.parametrize(
    "overrides",
    [
        {"queue_weights": {"hot": 0}},
        {"queue_weights": {"backfill": -1}},
        {"queue_weights": {"retry": 2}},
        {"queue_max_length": {"hot": -1}},
        {"queue_pause_max_s": 0},
        {"backfill_share": 4},
    ],
)
def test_bad_job_settings_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _settings(**overrides)


def test_environment_json_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Operators (and the stack's --set) write these as JSON in PLATFORM_* variables."""
    monkeypatch.setenv("PLATFORM_QUEUE_WEIGHTS", '{"hot": 1000, "backfill": 1}')
    monkeypatch.setenv("PLATFORM_QUEUE_MAX_LENGTH", '{"hot": 0}')
    monkeypatch.setenv("PLATFORM_DEAD_LETTER_ENABLED", "false")
    s = Settings(api_keys={"ci": SecretStr("k" * 32)}, admin_keys={"ops": SecretStr("a" * 32)})
    assert s.queue_weights == {"hot": 1000, "backfill": 1}
    assert s.queue_max_length["hot"] == 0
    assert s.dead_letter_enabled is False
