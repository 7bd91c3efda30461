"""Configuration: every required secret is set, strong and never shown; none means no start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig

# What the service must say when it refuses to start without keys.
REFUSAL_HINT = "PLATFORM_API_KEYS"


def _entries(value: object) -> dict[str, dict[str, Any]] | None:
    """A redacted secret setting as ``{id: report}``: a key map, or one secret as ``{"": ...}``."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        if "present" in value:
            return {"": value}
        return {str(k): v for k, v in value.items()}
    return None


@pytest.mark.checklist("config.secrets")
def test_required_secrets_present_and_strong(
    admin_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Each required secret is present, not a known default, long enough; no value is shown."""
    response = admin_client.get("/admin/config")
    assert response.status_code == 200, f"GET /admin/config: {response.status_code}"
    settings: dict[str, Any] = response.json()["settings"]
    minimum = config.observability.secret_min_length
    report: dict[str, Any] = {}
    problems: list[str] = []
    for name in config.observability.required_secrets:
        entries = _entries(settings.get(name))
        if not entries:
            problems.append(f"{name}: not configured")
            continue
        report[name] = entries
        for key_id, entry in entries.items():
            where = f"{name}[{key_id}]" if key_id else name
            if entry.get("revoked"):
                continue
            if not entry.get("present"):
                problems.append(f"{where}: missing")
            elif entry.get("weak"):
                problems.append(f"{where}: a known default or too short for the service")
            elif int(entry.get("length", 0)) < minimum:
                problems.append(f"{where}: {entry.get('length')} characters < {minimum}")
    given = [k for k in (target.api_key, target.api_key_2, target.admin_key) if k]
    shown = [k for k in given if k in response.text]
    evidence.add(secrets=report, min_length=minimum, values_shown=len(shown))
    assert not shown, "the admin config shows secret values"
    assert not problems, f"secret problems: {problems}"


def _refusal(stack: Any, timeout: float) -> tuple[int | None, str]:
    """Start the service as the stack does but without API keys; exit code and output."""
    repo = Path(stack.dir)  # only for a scratch cwd: the code comes from the running checkout
    env = {**stack.settings, "PLATFORM_API_KEYS": "{}"}
    env["PLATFORM_ADMIN_KEYS"] = json.dumps({"ops": "x" * 8 + "preflight-refusal-probe-key"})
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "service.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    ]
    try:
        done = subprocess.run(
            argv, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as expired:
        output = expired.stderr if isinstance(expired.stderr, str) else ""
        return None, output
    return done.returncode, done.stdout + done.stderr


@pytest.mark.checklist("config.secrets")
def test_refuses_to_start_without_secrets(
    stack: Any, config: SuiteConfig, evidence: Evidence
) -> None:
    """The service, started as the stack starts it but with no API keys, exits with a reason."""
    timeout = config.observability.startup_refusal_timeout_s
    code, output = _refusal(stack, timeout)
    lines = [ln.split("[type=")[0].strip() for ln in output.splitlines() if REFUSAL_HINT in ln]
    hint = lines[0] if lines else None
    evidence.add(exit_code=code, message=hint, timeout_s=timeout)
    assert code is not None, f"the service kept running for {timeout} s without API keys"
    assert code != 0, "the service exited 0 without API keys"
    assert hint, f"no clear message naming {REFUSAL_HINT}: {output[-300:]}"
