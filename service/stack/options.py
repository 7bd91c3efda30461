"""``StackOptions``: what a caller (CLI, pytest plugin, a self-test) asks the stack to boot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from service.stack.info import StackKeys

PREFIX = "PLATFORM_"
# auto: nginx where its executable is found, else none (and stack.json says why).
IngressMode = Literal["auto", "nginx", "none"]
INGRESS_MODES: tuple[IngressMode, ...] = ("auto", "nginx", "none")
# API processes behind the ingress unless asked otherwise: two on every machine, not one per
# core. Two is one per core on the 2-core reference machine, where it is the measured cure for
# bursts (bench/README.md, issue 15); a fixed count makes a 1-core CI runner and a 32-core
# workstation boot the same stack (same verdicts, memory and boot time); and it puts every run
# of the suite through what only several processes show (counters summed over processes, rate
# limits leased per process, the in-flight limit per process). Without an ingress: one.
DEFAULT_API_PROCESSES = 2


@dataclass(frozen=True)
class StackOptions:
    """Everything that can differ between two stacks.

    ``overrides`` are service settings (``cors_allow_origins`` or ``PLATFORM_CORS_ALLOW_ORIGINS``,
    any case) passed to API and workers as environment variables; they win over the stack's own
    values, which is how self-tests build deliberately broken stacks.
    """

    workers: int = 2
    pollers: int = 1  # arXiv pollers (service.ingest.poller), supervised like workers
    directory: Path | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    cert_days: int = 30
    restart_workers: bool = True
    redis_url: str | None = None
    startup_timeout_s: float = 60.0
    environment: str = "local"
    # A second place to keep stack.json up to date (the CLI's --json-out).
    json_out: Path | None = None
    # Prometheus and Alertmanager, where their executables exist (the CLI's --no-monitoring).
    monitoring: bool = True
    # Keys to boot with instead of fresh random ones: a self-test that configures a key's value
    # a second time (say, an ordinary key pasted into the admin keys) must know it beforehand.
    keys: StackKeys | None = field(default=None, repr=False)
    # The ingress in front of the API (service/stack/ingress.py) and how many API processes it
    # balances over (None: DEFAULT_API_PROCESSES); without an ingress there is one, serving
    # HTTPS itself.
    ingress: IngressMode = "auto"
    api_processes: int | None = None
    # IngressPolicy fields (service/stack/ingress_config.py) to override, as --ingress-set gives
    # them: how self-tests build a misconfigured ingress.
    ingress_overrides: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ValueError("workers must be >= 0")
        if self.pollers < 0:
            raise ValueError("pollers must be >= 0")
        if self.startup_timeout_s <= 0:
            raise ValueError("startup_timeout_s must be > 0")
        if self.ingress not in INGRESS_MODES:
            raise ValueError(f"ingress must be one of {INGRESS_MODES}")
        if self.api_processes is not None and self.api_processes < 1:
            raise ValueError("api_processes must be >= 1")
        if (self.api_processes or 1) > 1 and self.ingress == "none":
            raise ValueError("several API processes need the ingress to balance over them")

    def api_process_count(self, ingress: bool) -> int:
        """How many API processes to boot: as asked, else the default behind an ingress and one
        without (then the API serves HTTPS itself)."""
        if self.api_processes is not None:
            return self.api_processes
        return DEFAULT_API_PROCESSES if ingress else 1

    def override_env(self) -> dict[str, str]:
        """``overrides`` as ``PLATFORM_<NAME>`` environment variables."""
        return {env_name(name): value for name, value in self.overrides.items()}


def env_name(setting: str) -> str:
    """A setting in any spelling (``cors_allow_origins``) -> ``PLATFORM_CORS_ALLOW_ORIGINS``."""
    name = setting.strip().upper().replace("-", "_")
    if not name:
        raise ValueError("empty setting name")
    return name if name.startswith(PREFIX) else PREFIX + name


def parse_assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` (as given to ``--set``) -> ``(NAME, VALUE)``; the value may contain '='."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value
