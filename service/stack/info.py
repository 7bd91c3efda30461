"""``StackInfo``: the model of ``stack.json``, the one description of a running stack.

The suite reads it to find the URL, keys, CA, logs and pids (its ground truth); the CLI writes it
for stacks started elsewhere. It holds keys, hence mode 0600 and keys hidden from ``repr`` (pytest
prints reprs of locals into CI logs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.stack.files import write_private

STACK_SCHEMA = 1


class StackKeys(BaseModel):
    """The keys a check needs; the same shape holds their ids in ``key_ids``."""

    api: str
    api_2: str
    admin: str
    revoked: str
    # An ordinary key with its own short rate-limit window (PLATFORM_RATE_LIMIT_OVERRIDES): the
    # checks that exhaust a key's budget wait for its reset in seconds, not a 10 s window.
    rate_limit: str | None = None


class MonitoringInfo(BaseModel):
    """The stack's Prometheus and Alertmanager (``service/stack/monitoring.py``)."""

    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    prometheus_config: Path | None = None
    rule_files: list[Path] = Field(default_factory=list)
    # Every notification Alertmanager sent to the stack's loopback receiver, one JSON line each.
    receiver_log: Path | None = None
    # Kept apart from StackInfo.pids: those are the platform's processes, whose CPU and memory
    # the resource checks judge; the monitoring that watches them is not part of that.
    pids: dict[str, int] = Field(default_factory=dict)
    # Part ("prometheus", "alertmanager") -> why it is not running (no executable, --no-monitoring).
    skipped: dict[str, str] = Field(default_factory=dict)


class ApiProcessInfo(BaseModel):
    """One API process at its own address (what Prometheus scrapes; clients use ``url``)."""

    name: str
    url: str


class IngressInfo(BaseModel):
    """The ingress in front of the API processes (``service/stack/ingress.py``).

    ``kind`` None: the API answers clients itself (over HTTPS) and ``skipped`` says why.
    """

    kind: str | None = None
    url: str | None = None
    config: Path | None = None
    # The effective IngressPolicy (timeouts, body limit, ...), for people reading the file.
    policy: dict[str, Any] = Field(default_factory=dict)
    # Kept apart from StackInfo.pids, like the monitoring's: nginx's master process.
    pids: dict[str, int] = Field(default_factory=dict)
    skipped: str | None = None


class StackInfo(BaseModel):
    """Contents of ``stack.json`` (see docs/DESIGN.md, "Stack contract")."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    schema_version: int = Field(default=STACK_SCHEMA, alias="schema")
    url: str
    ca_file: Path
    environment: str
    dir: Path
    redis_url: str
    keys: StackKeys = Field(repr=False)
    key_ids: StackKeys
    logs: dict[str, Path] = Field(default_factory=dict)
    pids: dict[str, int] = Field(default_factory=dict)
    settings: dict[str, str] = Field(default_factory=dict)
    emulators: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Beyond the contract's example, for checks and people reading the file:
    workers: list[str] = Field(default_factory=list)
    pollers: list[str] = Field(default_factory=list)
    # Secrets the webhook checks sign with: github, huggingface, pseudonym (the pseudonym key).
    webhook_secrets: dict[str, str] = Field(default_factory=dict, repr=False)
    restarts: dict[str, int] = Field(default_factory=dict)
    managed_redis: bool = True
    cert_file: Path | None = None
    cert_not_after: str | None = None
    started_at: str | None = None
    # The configuration backup taken at boot (service/stack/snapshot.py).
    config_snapshot: Path | None = None
    monitoring: MonitoringInfo = Field(default_factory=MonitoringInfo)
    # The API processes' own addresses; ``url`` is the public one (the ingress's, when there is
    # one, else the single API process's).
    api: list[ApiProcessInfo] = Field(default_factory=list)
    ingress: IngressInfo = Field(default_factory=IngressInfo)

    @property
    def stack_json(self) -> Path:
        """Where this stack's ``stack.json`` lives."""
        return self.dir / "stack.json"

    def save(self, path: Path | None = None) -> Path:
        """Write JSON (mode 0600, atomically) to ``path`` or ``<dir>/stack.json``; return where."""
        target = path if path is not None else self.stack_json
        text = self.model_dump_json(by_alias=True, indent=2) + "\n"
        write_private(target, text.encode())
        return target

    @classmethod
    def load(cls, path: Path | str) -> StackInfo:
        """Read a ``stack.json``."""
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
