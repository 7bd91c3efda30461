"""Per-provider availability: cooldown after failures, background probing, failback.

A provider that failed a request (after its retries) is put in cooldown: routes skip it for
``cooldown_s`` so clients do not pay its timeouts again and again. The prober calls each
provider's own health route every ``probe_interval_s``; a provider returns to service (failback)
only when its cooldown is over *and* a probe succeeded, so a still-broken server gets no traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from service.gateway.metrics import PROVIDER_UP

logger = logging.getLogger("platform.gateway")

Status = Literal["up", "down", "cooldown"]


@dataclass
class ProviderState:
    """What the gateway knows about one provider; mutated on the event loop only."""

    name: str
    kind: str
    models: dict[str, str]
    status: Status = "up"  # optimistic until the first probe (which runs at start-up)
    cooldown_until: float = 0.0
    last_probe_at: float | None = None
    last_probe_ok: bool | None = None
    probe_latency_ms: float | None = None
    last_error: str | None = None
    failures: int = 0
    served: int = 0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        self._publish()

    @property
    def available(self) -> bool:
        return self.status == "up"

    def failed(self, error: str, cooldown_s: float) -> None:
        """A request failed here after its retries: skip this provider for a while."""
        self.failures += 1
        self.last_error = error
        if self.status != "cooldown":
            logger.warning("provider %s failed, cooldown %.1fs: %s", self.name, cooldown_s, error)
        self.status = "cooldown"
        self.cooldown_until = self.clock() + cooldown_s
        self._publish()

    def succeeded(self) -> None:
        self.served += 1
        if self.status == "down":  # served as a last resort: it is evidently back
            self.status = "up"
            self._publish()

    def probed(self, ok: bool, latency_ms: float, error: str | None) -> None:
        self.last_probe_at = time.time()
        self.last_probe_ok = ok
        self.probe_latency_ms = round(latency_ms, 3)
        if not ok:
            self.last_error = error
            if self.status == "up" or self.clock() >= self.cooldown_until:
                self.status = "down"
        elif self.status == "down" or (
            self.status == "cooldown" and self.clock() >= self.cooldown_until
        ):
            logger.info("provider %s healthy again", self.name)
            self.status = "up"
        self._publish()

    def report(self) -> dict[str, Any]:
        probe_at = self.last_probe_at
        return {
            "kind": self.kind,
            "status": self.status,
            "models": sorted(self.models),
            "provider_models": dict(self.models),
            "last_probe_at": None
            if probe_at is None
            else datetime.fromtimestamp(probe_at, UTC).isoformat(timespec="milliseconds"),
            "last_probe_ok": self.last_probe_ok,
            "probe_latency_ms": self.probe_latency_ms,
            "cooldown_remaining_s": round(max(0.0, self.cooldown_until - self.clock()), 3)
            if self.status == "cooldown"
            else 0.0,
            "failures": self.failures,
            "served": self.served,
            "last_error": self.last_error,
        }

    def _publish(self) -> None:
        PROVIDER_UP.labels(provider=self.name).set(1.0 if self.available else 0.0)


Probe = Callable[[], Awaitable[None]]


class Prober:
    """Probes every provider now and then every `interval_s` until stopped."""

    def __init__(self, probes: dict[str, tuple[ProviderState, Probe]], interval_s: float) -> None:
        self.probes = probes
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def probe_all(self) -> None:
        await asyncio.gather(*(self._probe(state, probe) for state, probe in self.probes.values()))

    async def _probe(self, state: ProviderState, probe: Probe) -> None:
        started = time.perf_counter()
        try:
            await probe()
        except Exception as exc:  # any failure means "not healthy"; the reason is reported
            state.probed(False, (time.perf_counter() - started) * 1000, type(exc).__name__)
        else:
            state.probed(True, (time.perf_counter() - started) * 1000, None)

    async def _run(self) -> None:
        while True:
            await self.probe_all()
            await asyncio.sleep(self.interval_s)  # the probe period itself, not a synchronisation

    def start(self) -> None:
        if self.probes and self._task is None:
            self._task = asyncio.create_task(self._run(), name="gateway-prober")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
