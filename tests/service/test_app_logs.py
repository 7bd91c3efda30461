"""JSON log records and their redaction, without a server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.logs import ACCESS_LOGGER, configure_logging, log_context
from service.settings import Settings
from tests.support.api import KEYS


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings logging to tmp_path; the handlers configure_logging installs are closed after."""
    try:
        yield Settings(
            api_keys={"ci": KEYS["ci"]},  # type: ignore[dict-item]  # pydantic coerces str
            admin_keys={"ops": KEYS["ops"]},  # type: ignore[dict-item]  # as above
            redis_url="redis://:hunter2-redis-password@127.0.0.1:6379/0",
            log_dir=tmp_path / "logs",
        )
    finally:
        for logger in (logging.getLogger(), logging.getLogger(ACCESS_LOGGER)):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
                handler.close()


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_are_json_with_context_and_extras(settings: Settings) -> None:
    """One JSON object per record, with the bound request id, extras and exception fields."""
    configure_logging(settings, "worker-7")
    log = logging.getLogger("platform.test")
    with log_context(request_id="rid-1", job_id="j1"):
        log.info("hello %s", "world", extra={"queue": "hot"})
        try:
            raise ValueError("bad value")
        except ValueError:
            log.exception("it failed")
    log.info("outside")
    assert settings.log_dir is not None
    hello, failed, outside = _records(settings.log_dir / "worker-7.log")
    assert hello["message"] == "hello world" and hello["level"] == "INFO"
    assert hello["request_id"] == "rid-1" and hello["job_id"] == "j1" and hello["queue"] == "hot"
    assert hello["process"] == "worker-7" and hello["logger"] == "platform.test"
    assert hello["ts"].endswith("+00:00")
    assert failed["exc_type"] == "ValueError" and failed["exc_message"] == "bad value"
    assert "Traceback" in failed["traceback"]
    assert outside["request_id"] is None and "job_id" not in outside


def test_secrets_and_bearer_tokens_are_masked(settings: Settings) -> None:
    """Configured secrets, the Redis password and bearer tokens never reach the file."""
    configure_logging(settings, "app")
    log = logging.getLogger("platform.test")
    log.warning("key %s", KEYS["ci"])
    log.warning("header Authorization: Bearer sk-live-abcdef123456")
    log.warning("url", extra={"target": settings.redis_url, "k": KEYS["ops"]})
    try:
        raise RuntimeError(f"failed with {KEYS['ops']}")
    except RuntimeError:
        log.exception("crash")
    assert settings.log_dir is not None
    text = (settings.log_dir / "app.log").read_text()
    for secret in (KEYS["ci"], KEYS["ops"], "sk-live-abcdef123456", "hunter2-redis-password"):
        assert secret not in text
    assert text.count("***") >= 5


def test_access_logger_has_its_own_file(settings: Settings) -> None:
    configure_logging(settings, "app")
    logging.getLogger(ACCESS_LOGGER).info("GET / 200", extra={"status": 200})
    assert settings.log_dir is not None
    assert _records(settings.log_dir / "access.log")[0]["status"] == 200
    app_log = settings.log_dir / "app.log"
    assert not app_log.exists() or "GET / 200" not in app_log.read_text()
    assert logging.getLogger("uvicorn.access").disabled
