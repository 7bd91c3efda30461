"""Which system the checks talk to: an external URL, a stack started elsewhere, or one we boot.

Resolution happens in two steps. ``TargetSpec`` is decided at configure time from options and
SuiteConfig without touching the network, so cheap decisions (is destructive allowed? will we
boot?) never start anything. ``open_target`` turns the spec into a live ``Target`` and is only
called by the session fixture, i.e. only when some selected check needs the target.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

USER_AGENT = "preflight-suite/0.1"


@dataclass(frozen=True)
class TargetSpec:
    """What the options say about the target; ``boot`` means neither --target nor --stack."""

    url: str | None = None
    stack_file: Path | None = None
    api_key: str | None = None
    api_key_2: str | None = None
    admin_key: str | None = None
    ca_file: Path | None = None
    stack_workers: int = 2

    @property
    def boot(self) -> bool:
        return self.url is None and self.stack_file is None


@dataclass(frozen=True)
class Target:
    """The live target as the checks see it (docs/DESIGN.md, "Suite contract")."""

    url: str
    api_key: str | None
    api_key_2: str | None
    admin_key: str | None
    revoked_key: str | None
    ca_file: Path | None
    verify: ssl.SSLContext | bool
    stack: Any | None = None  # service.stack.StackInfo: ground truth, None for external targets
    booted: bool = False
    # A key the rate-limit checks may exhaust, with its own short window (the reference stack's);
    # None: they use api_key and wait out its window.
    rate_limit_key: str | None = None
    identity: dict[str, str | None] = field(default_factory=dict)


def make_verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    """TLS verification against the given CA, else the system trust store."""
    if ca_file is None:
        return True
    return ssl.create_default_context(cafile=str(ca_file))


def _from_stack(info: Any, spec: TargetSpec, booted: bool) -> Target:
    """A Target from a StackInfo; explicit key options still override the stack's keys."""
    keys: dict[str, str] = dict(info.keys)
    ca_file = Path(info.ca_file) if info.ca_file else None
    return Target(
        url=str(info.url).rstrip("/"),
        api_key=spec.api_key or keys.get("api"),
        api_key_2=spec.api_key_2 or keys.get("api_2"),
        admin_key=spec.admin_key or keys.get("admin"),
        revoked_key=keys.get("revoked"),
        ca_file=spec.ca_file or ca_file,
        verify=make_verify(spec.ca_file or ca_file),
        stack=info,
        booted=booted,
        rate_limit_key=keys.get("rate_limit"),
    )


def _with_identity(target: Target, timeout: float) -> Target:
    identity = fetch_identity(target.url, target.verify, timeout)
    if identity["environment"] is None and target.stack is not None:
        identity["environment"] = target.stack.environment
    return Target(**{**target.__dict__, "identity": identity})


@contextlib.contextmanager
def open_target(spec: TargetSpec, timeout: float) -> Iterator[Target]:
    """Yield the live target; a stack booted here is stopped when the context ends."""
    if spec.stack_file is not None:
        # Imported lazily: the service package is only needed when a stack is involved.
        from service.stack import StackInfo

        yield _with_identity(_from_stack(StackInfo.load(spec.stack_file), spec, False), timeout)
    elif spec.url is not None:
        target = Target(
            url=spec.url.rstrip("/"),
            api_key=spec.api_key,
            api_key_2=spec.api_key_2,
            admin_key=spec.admin_key,
            revoked_key=None,
            ca_file=spec.ca_file,
            verify=make_verify(spec.ca_file),
        )
        yield _with_identity(target, timeout)
    else:
        from service.stack import StackOptions, start_stack

        with start_stack(StackOptions(workers=spec.stack_workers)) as info:
            yield _with_identity(_from_stack(info, spec, True), timeout)


def fetch_identity(
    url: str, verify: ssl.SSLContext | bool, timeout: float
) -> dict[str, str | None]:
    """Version, commit and environment of the target for the report header; nulls if unreachable.

    The report must be written also when the target is down, so every failure here is absorbed.
    """
    identity: dict[str, str | None] = {
        "url": url,
        "version": None,
        "commit": None,
        "environment": None,
    }
    try:
        with httpx.Client(
            base_url=url, verify=verify, timeout=timeout, headers={"User-Agent": USER_AGENT}
        ) as client:
            version = client.get("/version")
            if version.status_code == 200:
                body = version.json()
                identity["version"] = _str_or_none(body.get("version"))
                identity["commit"] = _str_or_none(body.get("commit"))
            health = client.get("/health")
            if health.status_code == 200:
                identity["environment"] = _str_or_none(health.json().get("environment"))
    except Exception:  # noqa: S110  # any failure means "unknown", never a broken report
        pass
    return identity


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def identity_for_report(spec: TargetSpec, timeout: float) -> dict[str, str | None]:
    """The report header when no check opened the target: probe an external one, else nulls."""
    if spec.url is not None:
        return fetch_identity(spec.url, make_verify(spec.ca_file), timeout)
    return {"url": None, "version": None, "commit": None, "environment": None}
