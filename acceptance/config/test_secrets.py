"""Configuration: every required secret is set, strong and never shown; none means no start."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.settings.faults import FaultHook
from acceptance.support.commands import CommandError, CommandTimeout, argv_of, run
from acceptance.support.faults import HOOK_OUTPUT_BYTES
from acceptance.support.redaction import redactor_for
from service.stack.control import STILL_RUNNING

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


@pytest.mark.checklist("config.secrets")
def test_refuses_to_start_without_secrets(
    target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """The service, started as deployed but with no API keys (``[faults]
    start_without_secrets``, else the reference stack's), exits with a reason."""
    timeout = config.observability.startup_refusal_timeout_s
    hook, origin = _start_hook(target, config, timeout)
    redact = redactor_for(target, config)
    argv = argv_of(hook.command or "", {}, shell=hook.shell)
    try:
        # The hook may need a moment of its own (a container to pull): the service's bound
        # is what the stack's hook enforces, the operator's is bounded by the hooks' timeout.
        done = run(
            argv,
            timeout_s=max(timeout + 10.0, config.faults.timeout_s),
            max_output_bytes=HOOK_OUTPUT_BYTES,
            redact=redact,
            check=False,
        )
    except CommandTimeout:
        code, output = None, ""
    except CommandError as exc:
        not_verified(f"start_without_secrets hook: {exc}")
    else:
        code, output = done.returncode, (done.stdout + done.stderr).decode(errors="replace")
    lines = [ln.split("[type=")[0].strip() for ln in output.splitlines() if REFUSAL_HINT in ln]
    hint = redact(lines[0]) if lines else None
    evidence.add(exit_code=code, message=hint, timeout_s=timeout, hook=origin)
    assert code not in (None, STILL_RUNNING), (
        f"the service kept running for {timeout} s without API keys"
    )
    assert code != 0, "the service exited 0 without API keys"
    assert hint, f"no clear message naming {REFUSAL_HINT}: {redact(output[-300:])}"


def _start_hook(target: Target, config: SuiteConfig, timeout: float) -> tuple[FaultHook, str]:
    """The operator's hook, else the reference stack's; not verified with neither."""
    hook = config.faults.start_without_secrets
    if hook is not None:
        if hook.command is None:
            not_verified("[faults] start_without_secrets must be a command (its status decides)")
        return hook, "[faults] start_without_secrets"
    if target.stack is None:
        not_verified(
            "no way to start the release without its secrets: set [faults] "
            "start_without_secrets (PREFLIGHT_FAULTS__START_WITHOUT_SECRETS__COMMAND)"
        )
    command = shlex.join(
        [
            sys.executable,
            "-m",
            "service.stack.control",
            "--stack",
            str(target.stack.stack_json),
            "start-without-secrets",
            "--timeout",
            f"{timeout:g}",
        ]
    )
    return FaultHook(command=command), "reference stack: service.stack.control"
