"""Observability switches of the API: diagnostics error, access log, metrics, debug bodies,
request ids carried into jobs, text logs and redaction."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import redis

from service.keyspace import keys as c
from service.logs import configure_logging
from service.settings import Settings
from tests.support.api import KEYS, StartApi, api_settings

ADMIN = {"Authorization": f"Bearer {KEYS['ops']}"}
API = {"Authorization": f"Bearer {KEYS['ci']}"}


def test_diagnostics_error_logged_once_with_traceback(start_api: StartApi) -> None:
    """The admin diagnostics route answers 500 and leaves exactly one structured error record."""
    api = start_api()
    with httpx.Client(base_url=api.url) as http:
        assert http.post("/admin/diagnostics/error", headers=API).status_code == 403
        answer = http.post("/admin/diagnostics/error", headers={**ADMIN, "X-Request-ID": "diag-1"})
    assert answer.status_code == 500 and "Traceback" not in answer.text
    api.wait_for_record("access", lambda r: r.get("request_id") == "diag-1")
    errors = [r for r in api.log_records("app") if r.get("request_id") == "diag-1"]
    assert len(errors) == 1
    assert errors[0]["level"] == "ERROR" and errors[0]["exc_type"] == "DiagnosticError"
    assert "Traceback" in errors[0]["traceback"]


def test_access_log_and_metrics_can_be_switched_off(start_api: StartApi) -> None:
    """access_log_enabled=false writes no access record; metrics_enabled=false hides /metrics."""
    api = start_api(access_log_enabled=False, metrics_enabled=False)
    with httpx.Client(base_url=api.url) as http:
        assert http.get("/metrics").status_code == 404
        assert http.get("/health/live").status_code == 200
    assert api.log_records("access") == []


def test_debug_bodies_only_when_asked(start_api: StartApi) -> None:
    """Request bodies reach the log only with log_request_bodies at DEBUG (off by default)."""
    api = start_api(log_level="DEBUG", log_request_bodies=True)
    with httpx.Client(base_url=api.url) as http:
        http.post("/_probe/echo", json={"name": "body-canary"}, headers={"X-Request-ID": "dbg"})
    api.wait_for_record("app", lambda r: "body-canary" in str(r.get("message")))


def test_default_never_logs_bodies(start_api: StartApi) -> None:
    """With the default settings a request body is not logged, even at DEBUG."""
    api = start_api(log_level="DEBUG")
    with httpx.Client(base_url=api.url) as http:
        http.post("/_probe/echo", json={"name": "body-canary"}, headers={"X-Request-ID": "d2"})
    api.wait_for_record("access", lambda r: r.get("request_id") == "d2")
    assert not [r for r in api.log_records("app") if "body-canary" in str(r)]


def test_enqueue_keeps_request_id(start_api: StartApi, redis_server: str) -> None:
    """A job remembers the request id it was enqueued under, for the worker's records."""
    api = start_api()
    with httpx.Client(base_url=api.url) as http:
        answer = http.post(
            "/enqueue", json={"kind": "noop"}, headers={**API, "X-Request-ID": "rid-job"}
        )
    assert answer.status_code == 202
    stored = redis.Redis.from_url(redis_server, decode_responses=True).hget(
        c.job_key(answer.json()["job_id"]), "request_id"
    )
    assert stored == "rid-job"


def _log_with(tmp_path: Path, redis_server: str, **overrides: object) -> str:
    settings: Settings = api_settings(redis_server, tmp_path, **overrides)
    configure_logging(settings, "unit")
    try:
        logging.getLogger("platform.test").warning("key %s", KEYS["ci"])
    finally:
        for handler in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(handler)
            handler.close()
    assert settings.log_dir is not None
    return (settings.log_dir / "unit.log").read_text()


def test_text_format_and_redaction_switch(tmp_path: Path, redis_server: str) -> None:
    """log_format=text writes plain lines; log_redaction=false leaves secrets unmasked."""
    text = _log_with(tmp_path / "a", redis_server, log_format="text")
    assert not text.startswith("{") and KEYS["ci"] not in text
    raw = _log_with(tmp_path / "b", redis_server, log_redaction=False)
    assert KEYS["ci"] in raw
