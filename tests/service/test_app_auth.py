"""Authentication, authorization and rate limiting, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.support.api import KEYS, LiveServer, StartApi

REALM = 'Bearer realm="preflight"'


def _events(event: str) -> float:
    value = REGISTRY.get_sample_value("platform_security_events_total", {"event": event})
    return value or 0.0


def _assert_error(response: httpx.Response, status: int, type_: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, object] = response.json()["error"]
    assert error["type"] == type_
    assert error["request_id"] == response.headers["x-request-id"]
    return error


def test_missing_key_is_401_with_challenge(http: httpx.Client) -> None:
    """No key at all: 401, a bare Bearer challenge, a counted security event."""
    before = _events("auth_missing_key")
    response = http.get("/_probe/whoami")
    _assert_error(response, 401, "authentication_error")
    assert response.headers["www-authenticate"] == REALM
    assert _events("auth_missing_key") == before + 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-a-real-key-" + "x" * 20},
        {"X-API-Key": "not-a-real-key"},
        {"Authorization": "Bearer"},
        {"X-API-Key": ""},
        {"Authorization": "Basic " + KEYS["ci"]},
        {"Authorization": "Bearer " + KEYS["ci"][:-1]},
    ],
    ids=["wrong-bearer", "wrong-header", "empty-bearer", "empty-header", "basic", "prefix"],
)
def test_invalid_key_is_401(http: httpx.Client, headers: dict[str, str]) -> None:
    """Wrong, empty or mis-schemed keys: 401 with error="invalid_token" in the challenge."""
    response = http.get("/_probe/whoami", headers=headers)
    _assert_error(response, 401, "authentication_error")
    assert response.headers["www-authenticate"] == REALM + ', error="invalid_token"'


def test_revoked_key_is_401(api: LiveServer, http: httpx.Client) -> None:
    """A revoked key's id is logged, its value never."""
    before = _events("auth_revoked_key")
    response = http.get("/_probe/whoami", headers={"X-API-Key": KEYS["old"]})
    error = _assert_error(response, 401, "authentication_error")
    assert error["code"] == "revoked_api_key"
    assert _events("auth_revoked_key") == before + 1
    records = [r for r in api.log_records("app") if r.get("event") == "auth_revoked_key"]
    assert records and records[-1]["key_id"] == "old" and records[-1]["level"] == "WARNING"
    assert KEYS["old"] not in (api.settings.log_dir / "app.log").read_text()  # type: ignore[operator]  # log_dir is set by api_settings


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_valid_key_either_header(http: httpx.Client, header: str) -> None:
    """Both documented headers carry the key; the response has rate-limit headers."""
    value = f"Bearer {KEYS['ci']}" if header == "Authorization" else KEYS["ci"]
    response = http.get("/_probe/whoami", headers={header: value})
    assert response.status_code == 200
    assert response.json() == {"key_id": "ci", "is_admin": False}
    for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
        assert response.headers[name].isdigit()


def test_admin_route_needs_admin_key(http: httpx.Client) -> None:
    """Ordinary key on an admin route: 403; admin key: 200; no key: 401."""
    assert http.get("/admin/config").status_code == 401
    forbidden = http.get("/admin/config", headers={"X-API-Key": KEYS["ci"]})
    _assert_error(forbidden, 403, "permission_error")
    ok = http.get("/admin/config", headers={"Authorization": f"Bearer {KEYS['ops']}"})
    assert ok.status_code == 200
    body = ok.json()
    assert body["settings"]["api_keys"]["ci"] == {
        "present": True,
        "length": len(KEYS["ci"]),
        "weak": False,
        "revoked": False,
    }
    assert body["settings"]["api_keys"]["old"]["revoked"] is True
    assert len(body["config_hash"]) == 64
    for key in KEYS.values():
        assert key not in ok.text


def test_rate_limit_per_key(start_api: StartApi) -> None:
    """Past the limit: 429 + Retry-After + headers; another key still passes."""
    api = start_api(rate_limit="3/minute")
    before = _events("rate_limited")
    with httpx.Client(base_url=api.url, timeout=10) as client:
        first = {"X-API-Key": KEYS["ci"]}
        remaining = [
            int(client.get("/_probe/whoami", headers=first).headers["ratelimit-remaining"])
            for _ in range(3)
        ]
        assert remaining == [2, 1, 0]
        limited = client.get("/_probe/whoami", headers=first)
        error = _assert_error(limited, 429, "rate_limit_error")
        assert error["code"] == "rate_limit_exceeded"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["ratelimit-limit"] == "3"
        assert limited.headers["ratelimit-remaining"] == "0"
        other = client.get("/_probe/whoami", headers={"X-API-Key": KEYS["ci-2"]})
        assert other.status_code == 200
        assert other.headers["ratelimit-remaining"] == "2"
    assert _events("rate_limited") == before + 1
    records = [r for r in api.log_records("app") if r.get("event") == "rate_limited"]
    assert records and records[-1]["key_id"] == "ci"


def test_key_rate_limit_replaces_general_limit(start_api: StartApi) -> None:
    """A key with its own limit counts against that one; the other keys keep the general one."""
    api = start_api(rate_limit="100/minute", rate_limit_overrides={"ci": "2 per 5 seconds"})
    with httpx.Client(base_url=api.url, timeout=10) as client:
        own = [client.get("/_probe/whoami", headers={"X-API-Key": KEYS["ci"]}) for _ in range(3)]
        assert [r.status_code for r in own] == [200, 200, 429]
        assert own[0].headers["ratelimit-limit"] == "2"
        assert 1 <= int(own[2].headers["retry-after"]) <= 5
        other = client.get("/_probe/whoami", headers={"X-API-Key": KEYS["ci-2"]})
        assert other.headers["ratelimit-limit"] == "100"


def test_rate_limit_disabled(start_api: StartApi) -> None:
    """rate_limit_enabled=False: no 429 and no rate-limit headers."""
    api = start_api(rate_limit="1/minute", rate_limit_enabled=False)
    with httpx.Client(base_url=api.url, timeout=10) as client:
        for _ in range(3):
            response = client.get("/_probe/whoami", headers={"X-API-Key": KEYS["ci"]})
            assert response.status_code == 200
            assert "ratelimit-limit" not in response.headers


def test_openapi_marks_secured_operations(http: httpx.Client) -> None:
    """The OpenAPI document lists security on authenticated operations only."""
    doc = http.get("/openapi.json").json()
    assert doc["paths"]["/admin/config"]["get"]["security"]
    assert "security" not in doc["paths"]["/health"]["get"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"].lower() == "bearer"
    assert schemes["apiKey"]["name"] == "X-API-Key"
