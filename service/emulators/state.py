"""Per-server state: the live configuration, fault decisions and the per-request context.

One `EmulatorState` per server process (not module globals), so tests can build several apps in
one process and `POST /_emulator/reset` can restore exactly what the CLI asked for.
"""

from __future__ import annotations

import copy
import random
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.emulators.config import EmulatorConfig
from service.emulators.recorder import Recorder

ADMIN_PREFIX = "/_emulator/"


class Resettable(Protocol):
    """A live connection that an outage of mode "refuse" can cut."""

    def emulator_reset(self) -> None: ...


@dataclass(frozen=True)
class Fault:
    """An answer decided before any work: outage, still loading, or an injected error."""

    status: int
    message: str
    kind: str  # "outage" | "loading" | "injected"


@dataclass
class RequestContext:
    """What one request looked like on the wire; becomes one line of the request log."""

    t0: float  # time.monotonic() at receipt: the origin of TTFT and of the pacing schedule
    wall: float  # time.time() at receipt: comparable across processes
    method: str
    path: str
    query: str
    headers: dict[str, str]
    client: str | None
    model: str | None = None
    stream: bool | None = None
    status: int | None = None
    first_byte_s: float | None = None
    ttft_s: float | None = None
    tokens: int = 0
    prompt_tokens: int | None = None
    max_tokens: int | None = None
    finish_reason: str | None = None
    continued_tokens: int | None = None  # the answer continued a final message this long
    fault: str | None = None
    disconnected: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # When the answer's pacing starts: t0, or later when the request waited for a slot.
    started: float | None = None
    # Run when the response is over however it ended (even before its body started), so a
    # request's resources (engine place, Ollama slot) cannot outlive it.
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def origin(self) -> float:
        return self.t0 if self.started is None else self.started

    def to_record(self, end: float) -> dict[str, Any]:
        """The log line; durations in milliseconds because that is how checks state SLOs."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        return {
            "time": self.wall,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "request_id": self.headers.get("x-request-id"),
            "client": self.client,
            "model": self.model,
            "stream": self.stream,
            "status": self.status,
            "first_byte_ms": ms(self.first_byte_s),
            "ttft_ms": ms(self.ttft_s),
            "duration_ms": ms(end - self.t0),
            "tokens": self.tokens,
            "prompt_tokens": self.prompt_tokens,
            "max_tokens": self.max_tokens,
            "finish_reason": self.finish_reason,
            "continued_tokens": self.continued_tokens,
            "fault": self.fault,
            "disconnected": self.disconnected,
            **self.extra,
        }


class EmulatorState:
    """Configuration, counters and hooks of one emulator server."""

    def __init__(
        self, name: str, baseline: EmulatorConfig, recorder: Recorder, admin_token: str | None
    ) -> None:
        self.name = name
        self.baseline = baseline
        self.config = copy.deepcopy(baseline)
        self.recorder = recorder
        self.admin_token = admin_token
        self.started = time.monotonic()
        self.running = 0
        self.rng = random.Random(baseline.seed)  # noqa: S311 - fault injection, not crypto
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self.reset_hooks: list[Callable[[], None]] = []
        # More facts for GET /_emulator/state (queue depths of the Ollama and batching modes).
        self.state_hooks: list[Callable[[], dict[str, Any]]] = []

    def loading(self) -> bool:
        return time.monotonic() - self.started < self.config.slow_start_s

    def gate_fault(self) -> Fault | None:
        """Faults that hit every route but the admin ones: the server is down or loading."""
        if self.config.outage == "503":
            return Fault(503, "Service unavailable (emulated outage)", "outage")
        if self.loading():
            return Fault(503, "Model is loading, try again later", "loading")
        return None

    def injected_fault(self) -> Fault | None:
        """A random error on an inference route, drawn with probability `error_rate`."""
        rate = self.config.error_rate
        if rate <= 0 or self.rng.random() >= rate:
            return None
        status = self.config.error_status or self.rng.choice((500, 503))
        return Fault(status, f"Emulated error (status {status})", "injected")

    def apply(self, patch: dict[str, Any]) -> None:
        """Patch the configuration; setting `slow_start_s` starts a new loading period now,
        as a restart of the real server would."""
        self.config.apply(patch)
        if "slow_start_s" in patch:
            self.started = time.monotonic()
        if self.config.outage == "refuse":
            self.cut_connections()

    def cut_connections(self) -> None:
        """Reset every connection not serving an admin request, as a crashed process would."""
        for connection in list(self.connections):
            connection.emulator_reset()

    def reset(self) -> None:
        """Back to the CLI configuration, an empty log and a fresh start (slow start again)."""
        self.config = copy.deepcopy(self.baseline)
        self.rng = random.Random(self.baseline.seed)  # noqa: S311 - fault injection, not crypto
        self.started = time.monotonic()
        self.recorder.clear()
        for hook in self.reset_hooks:
            hook()
