"""Cross-cutting HTTP behaviour: errors as JSON, request ids, logs, body limit, CORS, headers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from tests.support.api import KEYS, LiveServer, StartApi, api_settings


def _error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, object] = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param", "request_id"}
    return error


def test_unknown_route_is_json_404(api: LiveServer, http: httpx.Client) -> None:
    """No HTML anywhere: an unknown path answers in the API's error shape; the access log keeps
    the template, not the raw (client-chosen) path."""
    response = http.get("/no/such/jane.doe@example.com")
    error = _error(response, 404)
    assert error["type"] == "not_found_error"
    rid = response.headers["x-request-id"]
    record = api.wait_for_record("access", lambda r: r["request_id"] == rid)
    assert record["path"] == "unmatched" and record["status"] == 404
    assert "jane.doe" not in (api.settings.log_dir / "access.log").read_text()  # type: ignore[operator]  # log_dir is set by api_settings


def test_wrong_method_is_json_405(http: httpx.Client) -> None:
    response = http.delete("/health/live")
    _error(response, 405)
    assert "GET" in response.headers["allow"]


def test_validation_error_names_the_field(http: httpx.Client) -> None:
    """422 names the offending field and never echoes the (possibly huge) input."""
    huge = "x" * 50_000
    response = http.post("/_probe/echo", json={"name": "a", "count": huge})
    error = _error(response, 422)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "count"
    assert huge[:100] not in response.text
    assert len(response.content) < 2_000


def test_unknown_field_is_refused(http: httpx.Client) -> None:
    error = _error(http.post("/_probe/echo", json={"name": "a", "surprise": 1}), 422)
    assert error["param"] == "surprise"


def test_garbage_json_is_422(http: httpx.Client) -> None:
    response = http.post(
        "/_probe/echo", content=b"{not json", headers={"content-type": "application/json"}
    )
    error = _error(response, 422)
    assert error["code"] == "json_invalid"


def test_unhandled_error_is_json_500_and_logged(api: LiveServer, http: httpx.Client) -> None:
    """A crash: JSON 500 without internals; the log has one structured record with traceback."""
    response = http.get("/_probe/boom", headers={"X-Request-ID": "boom-1"})
    error = _error(response, 500)
    assert error["type"] == "server_error"
    assert error["request_id"] == "boom-1"
    assert "kaboom" not in response.text and "Traceback" not in response.text
    records = [r for r in api.log_records("app") if r.get("exc_type") == "RuntimeError"]
    assert len(records) == 1
    record = records[0]
    assert record["level"] == "ERROR" and record["request_id"] == "boom-1"
    assert "kaboom" in record["exc_message"] and "Traceback" in record["traceback"]
    access = api.wait_for_record("access", lambda r: r["request_id"] == "boom-1")
    assert access["status"] == 500


def test_request_id_echoed_and_in_every_log(api: LiveServer, http: httpx.Client) -> None:
    """A valid client id is echoed and lands in the access and application records."""
    response = http.get(
        "/_probe/whoami", headers={"X-Request-ID": "trace-abc.123", "X-API-Key": KEYS["ci"]}
    )
    assert response.headers["x-request-id"] == "trace-abc.123"
    app_records = [r for r in api.log_records("app") if r["message"] == "whoami called"]
    assert app_records[0]["request_id"] == "trace-abc.123"
    assert app_records[0]["key_id"] == "ci"
    record = api.wait_for_record("access", lambda r: r["request_id"] == "trace-abc.123")
    assert record["method"] == "GET" and record["path"] == "/_probe/whoami"
    assert record["status"] == 200 and record["key_id"] == "ci"
    assert record["client_ip"] == "127.0.0.1"
    assert record["duration_ms"] >= 0 and record["bytes"] == len(response.content)
    assert record["route"] == "/_probe/whoami" and record["logger"] == "platform.access"


@pytest.mark.parametrize("given", ["", "bad id with spaces", "x" * 129, "<script>"])
def test_invalid_request_id_replaced(http: httpx.Client, given: str) -> None:
    response = http.get("/health/live", headers={"X-Request-ID": given})
    echoed = response.headers["x-request-id"]
    assert echoed != given and len(echoed) == 32


def test_body_over_limit_is_413_by_length(http: httpx.Client) -> None:
    """A 10 MB body is refused up front, in JSON, before the app reads it."""
    response = http.post(
        "/_probe/echo",
        content=b"x" * (10 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert _error(response, 413)["code"] == "body_too_large"


def test_chunked_body_over_limit_is_413(http: httpx.Client) -> None:
    """Without Content-Length the streamed bytes are counted."""

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65_536

    response = http.post(
        "/_probe/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert _error(response, 413)["code"] == "body_too_large"


def test_cors_allowed_origin_echoed(http: httpx.Client) -> None:
    preflight = http.options(
        "/_probe/whoami",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-request-id" in preflight.headers
    simple = http.get("/health/live", headers={"Origin": "https://app.example"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


def test_cors_unlisted_origin_gets_no_allow_header(http: httpx.Client) -> None:
    preflight = http.options(
        "/_probe/whoami",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    simple = http.get("/health/live", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_security_headers(http: httpx.Client) -> None:
    """nosniff always; HSTS only over HTTPS (this is plain HTTP)."""
    response = http.get("/health/live")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers


def test_hsts_over_https(redis_server: str, tmp_path: Path) -> None:
    """A request that came over HTTPS (ASGI scope scheme) carries HSTS."""
    app = create_app(api_settings(redis_server, tmp_path, hsts_max_age_s=600))

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://test") as client:
            return await client.get("/health/live", timeout=10)

    response = asyncio.run(fetch())
    assert response.headers["strict-transport-security"] == "max-age=600; includeSubDomains"


def test_docs_disabled_by_default(http: httpx.Client) -> None:
    assert http.get("/docs").status_code == 404
    assert http.get("/redoc").status_code == 404
    assert http.get("/openapi.json").status_code == 200


def test_docs_when_enabled(start_api: StartApi) -> None:
    api = start_api(docs_enabled=True)
    with httpx.Client(base_url=api.url, timeout=10) as client:
        assert client.get("/docs").status_code == 200
        assert client.get("/redoc").status_code == 200


def test_metrics_use_route_templates(http: httpx.Client) -> None:
    http.get("/no/such/thing/12345")
    http.get("/health/live")
    text = http.get("/metrics").text
    assert 'route="unmatched"' in text
    assert 'platform_http_requests_total{method="GET",route="/health/live",status="200"}' in text
    assert "/no/such/thing/12345" not in text


def test_secrets_never_in_responses_or_logs(api: LiveServer, http: httpx.Client) -> None:
    """Keys sent (valid and invalid) and configured never appear in bodies, metrics or logs."""
    bodies = []
    for key in KEYS.values():
        for path in ("/_probe/whoami", "/admin/config", "/no/such"):
            bodies.append(http.get(path, headers={"Authorization": f"Bearer {key}"}).text)
    bodies.append(http.get("/_probe/whoami", headers={"X-API-Key": "Bearer-lookalike"}).text)
    bodies.append(http.get("/metrics").text)
    assert api.settings.log_dir is not None
    logs = "".join(p.read_text() for p in api.settings.log_dir.glob("*.log"))
    assert "whoami" in logs  # the logs exist and hold the requests
    for key in KEYS.values():
        assert key not in logs
        for body in bodies:
            assert key not in body
