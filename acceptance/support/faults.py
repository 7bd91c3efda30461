"""Fault hooks: how a destructive check breaks the target and repairs it again.

Each fault is a pair of hooks (down, up) from ``[faults]`` (a command or an HTTP call), else the
reference stack's own (its provider emulators' admin route, ``service.stack.control`` for its
workers), else none, and the check is not verified with the settings that would give one. The
stack's hooks are the same ``FaultHook`` models the configuration holds, fired by the same code,
so a self-booted run proves the path an operator's hooks take.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from acceptance.harness.target import USER_AGENT, Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.settings.faults import FaultHook
from acceptance.support.commands import (
    PLACEHOLDER,
    CommandError,
    argv_of,
    run,
    shown,
    substitute,
)
from acceptance.support.redaction import redactor_for

# What a hook may print; more is an operator's tool misbehaving, not something to read.
HOOK_OUTPUT_BYTES = 1_048_576


@dataclass(frozen=True)
class Fault:
    """A fault the suite can cause and clear on this target, and where its hooks come from."""

    down: FaultHook
    up: FaultHook
    origin: str
    values: Mapping[str, str]
    config: SuiteConfig
    redact: Callable[[str], str]

    def describe(self) -> str:
        """For the evidence: where the hooks come from and what they run (redacted)."""
        return f"{self.origin}: {_what(self.down, self.values, self.redact)}"

    def cause(self) -> None:
        fire(self.down, self.values, self.config.faults.timeout_s, self.redact)

    def clear(self) -> None:
        fire(self.up, self.values, self.config.faults.timeout_s, self.redact)


def _setting(name: str) -> str:
    return (
        f"[faults] {name}_down and {name}_up (PREFLIGHT_FAULTS__{name.upper()}_DOWN__COMMAND, ...)"
    )


def _configured(config: SuiteConfig, name: str) -> tuple[FaultHook, FaultHook] | str | None:
    down = getattr(config.faults, f"{name}_down")
    up = getattr(config.faults, f"{name}_up")
    if down is None and up is None:
        return None
    if down is None or up is None:
        return f"only one of the hooks is set: set both {_setting(name)}"
    return down, up


def provider_fault(target: Target, config: SuiteConfig, provider: str, model: str) -> Fault:
    """Take ``provider`` down and up again; not verified when nothing can."""
    values = {"provider": provider, "model": model}
    hooks = _configured(config, "provider")
    if isinstance(hooks, str):
        not_verified(hooks)
    if hooks is not None:
        origin = "[faults] provider_down/provider_up"
        return Fault(*hooks, origin, values, config, redactor_for(target, config))
    return emulator_fault(
        target,
        config,
        provider,
        ({"outage": "refuse"}, {"outage": "none"}),
        values,
        f"no fault hook to take {provider} down: set {_setting('provider')}",
    )


def emulator_fault(
    target: Target,
    config: SuiteConfig,
    provider: str,
    bodies: tuple[dict[str, Any], dict[str, Any]],
    values: Mapping[str, str],
    missing: str,
) -> Fault:
    """A fault of ``provider`` set and cleared through the reference stack's emulator admin
    route (``POST {admin_url}/config`` with the two ``bodies``); not verified with ``missing``
    where the target has no such route."""
    entry = target.stack.emulators.get(provider) if target.stack is not None else None
    admin = entry.get("admin_url") if isinstance(entry, dict) else None
    if not admin:
        not_verified(missing)
    down, up = (FaultHook(url=f"{admin}/config", body=body) for body in bodies)
    origin = f"reference stack: {provider} emulator admin route"
    return Fault(down, up, origin, values, config, redactor_for(target, config))


def workers_fault(target: Target, config: SuiteConfig) -> Fault:
    """Stop every worker and start them again; not verified when nothing can."""
    redact = redactor_for(target, config)
    hooks = _configured(config, "workers")
    if isinstance(hooks, str):
        not_verified(hooks)
    if hooks is not None:
        return Fault(*hooks, "[faults] workers_down/workers_up", {}, config, redact)
    if target.stack is None:
        not_verified(f"no fault hook to stop the workers: set {_setting('workers')}")
    control = f"{sys.executable} -m service.stack.control --stack {target.stack.stack_json} workers"
    down, up = FaultHook(command=f"{control} down"), FaultHook(command=f"{control} up")
    return Fault(down, up, "reference stack: service.stack.control", {}, config, redact)


def _site_fault(
    target: Target, config: SuiteConfig, name: str, emulator: str, values: dict[str, str]
) -> Fault:
    """A fault of an external site the platform calls: ``[faults] <name>_down/_up``, else the
    stack's emulator's fault route (``POST|DELETE /_emulator/faults``)."""
    redact = redactor_for(target, config)
    hooks = _configured(config, name)
    if isinstance(hooks, str):
        not_verified(hooks)
    if hooks is not None:
        return Fault(*hooks, f"[faults] {name}_down/{name}_up", values, config, redact)
    entry = target.stack.emulators.get(emulator) if target.stack is not None else None
    admin = entry.get("admin_url") if isinstance(entry, dict) else None
    if not admin:
        not_verified(
            f"no fault hook to make {name} answer {values['status']}: set {_setting(name)}"
        )
    spec = {"status": "{status}", "retry_after_s": "{retry_after_s}", "count": "{count}"}
    if "path_prefix" in values:
        spec["path_prefix"] = "{path_prefix}"
    down = FaultHook(url=f"{admin}/faults", body=spec)
    up = FaultHook(url=f"{admin}/faults", method="DELETE")
    return Fault(
        down, up, f"reference stack: {emulator} emulator fault route", values, config, redact
    )


def arxiv_fault(
    target: Target, config: SuiteConfig, *, status: int, retry_after_s: int, count: int
) -> Fault:
    """arXiv answers ``status`` with ``Retry-After`` ``count`` times."""
    values = {"status": str(status), "retry_after_s": str(retry_after_s), "count": str(count)}
    return _site_fault(target, config, "arxiv", "arxiv", values)


def site_fault(
    target: Target,
    config: SuiteConfig,
    *,
    status: int,
    retry_after_s: int,
    count: int,
    path_prefix: str,
) -> Fault:
    """The robots site answers ``status`` with ``Retry-After`` under ``path_prefix``."""
    values = {
        "status": str(status),
        "retry_after_s": str(retry_after_s),
        "count": str(count),
        "path_prefix": path_prefix,
    }
    return _site_fault(target, config, "site", "robots", values)


def _what(hook: FaultHook, values: Mapping[str, str], redact: Callable[[str], str]) -> str:
    if hook.command is not None:
        return "command " + shown(argv_of(hook.command, values, shell=hook.shell), redact)
    return f"{hook.method} {redact(substitute(hook.url or '', values))}"


def _body(value: Any, values: Mapping[str, str]) -> Any:
    """The JSON body with placeholders replaced in its string values; a value that is one
    placeholder and nothing else takes the value's JSON type (``"{count}"`` -> ``1``)."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in values:
            try:
                return json.loads(values[whole.group(1)])
            except ValueError:
                return values[whole.group(1)]
        return substitute(value, values)
    if isinstance(value, dict):
        return {k: _body(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_body(v, values) for v in value]
    return value


def fire(
    hook: FaultHook, values: Mapping[str, str], timeout_s: float, redact: Callable[[str], str]
) -> None:
    """Run one hook; a hook that fails ends the check not verified (the fault is the suite's
    tool, not the target: its failure says nothing about the platform)."""
    try:
        if hook.command is not None:
            argv = argv_of(hook.command, values, shell=hook.shell)
            run(argv, timeout_s=timeout_s, max_output_bytes=HOOK_OUTPUT_BYTES, redact=redact)
            return
        headers = {"User-Agent": USER_AGENT}
        headers |= {k: v.get_secret_value() for k, v in hook.headers.items()}
        answer = httpx.request(
            hook.method,
            substitute(hook.url or "", values),
            json=_body(hook.body, values) if hook.body is not None else None,
            headers=headers,
            timeout=timeout_s,
        )
    except CommandError as exc:
        not_verified(f"fault hook failed: {exc}")
    except httpx.HTTPError as exc:
        not_verified(f"fault hook {_what(hook, values, redact)} failed: {type(exc).__name__}")
    if not answer.is_success:
        not_verified(
            f"fault hook {_what(hook, values, redact)} answered {answer.status_code}: "
            f"{redact(answer.text[:200])}"
        )
