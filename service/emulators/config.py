"""The run-time configuration of an emulator: one dataclass, set from the CLI, patched over HTTP.

Tests and the suite change latency, errors and outages while a stack runs, so every knob lives
here and `apply()` validates a JSON patch field by field (a typo must be a 400, not ignored).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

OutageMode = Literal["none", "refuse", "503"]
# What `error_mid_stream` does after `error_after_tokens`: the server's error event, or the
# response simply ending (a clean close without the end marker, as a dropped proxy leaves it).
MidStreamFault = Literal["error", "close"]


class ConfigError(ValueError):
    """A patch that names an unknown field or gives a value of the wrong type or range."""


@dataclass
class EmulatorConfig:
    """Latency, size and fault knobs; defaults resemble a small model on one GPU."""

    ttft_ms: float = 150.0
    itl_ms: float = 20.0
    output_tokens: int = 200
    tokens_per_chunk: int = 1
    error_rate: float = 0.0
    error_status: int | None = None  # None: 500 or 503 at random
    outage: OutageMode = "none"
    slow_start_s: float = 0.0
    gpu_util: float | None = None  # percent; None: derived from running requests
    kv_cache_usage: float | None = None  # 0..1; None: derived from running requests
    error_mid_stream: bool = False
    error_after_tokens: int = 3
    mid_stream_fault: MidStreamFault = "error"
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def apply(self, patch: dict[str, Any]) -> None:
        """Validate the whole patch first, then assign, so a bad patch changes nothing."""
        checked = {name: _check(name, value) for name, value in patch.items()}
        for name, value in checked.items():
            setattr(self, name, value)


_FLOATS = {"ttft_ms", "itl_ms", "error_rate", "slow_start_s", "gpu_util", "kv_cache_usage"}
_INTS = {"output_tokens", "tokens_per_chunk", "error_status", "error_after_tokens", "seed"}
_NULLABLE = {"error_status", "gpu_util", "kv_cache_usage"}
_RANGES: dict[str, tuple[float, float]] = {
    "ttft_ms": (0, 600_000),
    "itl_ms": (0, 60_000),
    "output_tokens": (0, 1_000_000),
    "tokens_per_chunk": (1, 1_000),
    "error_rate": (0, 1),
    "error_status": (400, 599),
    "slow_start_s": (0, 86_400),
    "gpu_util": (0, 100),
    "kv_cache_usage": (0, 1),
    "error_after_tokens": (0, 1_000_000),
    "seed": (-(2**63), 2**63 - 1),
}


def _check(name: str, value: Any) -> Any:
    if name not in _FLOATS | _INTS | {"outage", "error_mid_stream", "mid_stream_fault"}:
        raise ConfigError(f"unknown field {name!r}")
    if value is None and name in _NULLABLE:
        return None
    if name == "outage":
        return _outage(value)
    if name == "mid_stream_fault":
        if value not in ("error", "close"):
            raise ConfigError('mid_stream_fault must be "error" or "close"')
        return value
    if name == "error_mid_stream":
        if not isinstance(value, bool):
            raise ConfigError("error_mid_stream must be a boolean")
        return value
    # bool is an int in Python; a JSON true for a number is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number")
    if name in _INTS and value != int(value):
        raise ConfigError(f"{name} must be an integer")
    low, high = _RANGES[name]
    if not low <= value <= high:
        raise ConfigError(f"{name} must be within {low}..{high}")
    return int(value) if name in _INTS else float(value)


def _outage(value: Any) -> OutageMode:
    """`true` means the harsher mode (connections reset), as a dead process would look."""
    if value is True:
        return "refuse"
    if value in (False, None, "", "none"):
        return "none"
    if value in ("refuse", "503"):
        return "refuse" if value == "refuse" else "503"
    raise ConfigError('outage must be one of false, true, "none", "refuse", "503"')


def add_arguments(parser: argparse.ArgumentParser, *, default_port: int) -> None:
    """The options both emulators share; each adds its model options itself."""
    parser.add_argument("--host", default="127.0.0.1", help="Default: %(default)r")
    parser.add_argument(
        "--port", type=int, default=default_port, help="0 picks a free port. Default: %(default)r"
    )
    parser.add_argument("--port-file", metavar="PATH", help="write the bound port here when ready")
    parser.add_argument("--requests-log", metavar="PATH", help="append one JSON line per request")
    parser.add_argument("--admin-token", metavar="TOKEN", help="Bearer token for /_emulator/*")
    for field in dataclasses.fields(EmulatorConfig):
        flag = "--" + field.name.replace("_", "-")
        default = field.default
        if field.name == "outage":
            parser.add_argument(flag, choices=["none", "refuse", "503"], default=default)
        elif field.name == "mid_stream_fault":
            parser.add_argument(flag, choices=["error", "close"], default=default)
        elif field.name == "error_mid_stream":
            parser.add_argument(flag, action="store_true")
        else:
            kind = int if field.name in _INTS else float
            parser.add_argument(
                flag, type=kind, default=default, metavar="N", help="Default: %(default)r"
            )


def from_arguments(args: argparse.Namespace) -> EmulatorConfig:
    """Build the baseline configuration, validated like a run-time patch."""
    config = EmulatorConfig()
    config.apply({f.name: getattr(args, f.name) for f in dataclasses.fields(EmulatorConfig)})
    return config
