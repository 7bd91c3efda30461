"""The run-time configuration of an emulator: one dataclass, set from the CLI, patched over HTTP.

Tests and the suite change latency, errors and outages while a stack runs, so every knob lives
here and `apply()` validates a JSON patch field by field (a typo must be a 400, not ignored).
The vLLM emulator's batching engine is configured here too (`engine = "batching"`); its
defaults and the published figures they come from are in `service/emulators/batching/params.py`.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from service.emulators.batching.params import (
    CacheGeometry,
    CostModel,
    EngineParams,
    SchedulerLimits,
)

OutageMode = Literal["none", "refuse", "503"]
# What `error_mid_stream` does after `error_after_tokens`: the server's error event, or the
# response simply ending (a clean close without the end marker, as a dropped proxy leaves it).
MidStreamFault = Literal["error", "close"]
# How the vLLM emulator paces an answer: fixed ttft_ms/itl_ms per request ("constant"), or the
# continuous-batching engine and its cost model ("batching"), where load and prompt length count.
EngineMode = Literal["constant", "batching"]
_COST = CostModel()
_LIMITS = SchedulerLimits()
_CACHE = CacheGeometry()


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
    # --- batching mode (vLLM emulator); ttft_ms and itl_ms do not apply there ---
    engine: EngineMode = "constant"
    max_num_seqs: int = _LIMITS.max_num_seqs
    max_num_batched_tokens: int = _LIMITS.max_num_batched_tokens
    num_gpu_blocks: int = _CACHE.num_gpu_blocks  # geometry changes apply once the engine is idle
    block_size: int = _CACHE.block_size
    enable_prefix_caching: bool = _CACHE.enable_prefix_caching
    step_overhead_us: float = _COST.step_overhead_us
    prefill_us_per_token: float = _COST.prefill_us_per_token
    decode_us_per_seq: float = _COST.decode_us_per_seq
    attention_us_per_context_token: float = _COST.attention_us_per_context_token
    queue_us: float = _COST.queue_us
    queue_us_per_prompt_token: float = _COST.queue_us_per_prompt_token
    output_us: float = _COST.output_us
    time_scale: float = _COST.time_scale

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def apply(self, patch: dict[str, Any]) -> None:
        """Validate the whole patch first, then assign, so a bad patch changes nothing."""
        checked = {name: _check(name, value) for name, value in patch.items()}
        for name, value in checked.items():
            setattr(self, name, value)


_COST_FIELDS = {
    "step_overhead_us",
    "prefill_us_per_token",
    "decode_us_per_seq",
    "attention_us_per_context_token",
    "queue_us",
    "queue_us_per_prompt_token",
    "output_us",
    "time_scale",
}
_LIMIT_FIELDS = {"max_num_seqs", "max_num_batched_tokens"}
_CACHE_INTS = {"num_gpu_blocks", "block_size"}
BATCHING_FIELDS = {"engine", "enable_prefix_caching"} | _COST_FIELDS | _LIMIT_FIELDS | _CACHE_INTS
_FLOATS = {"ttft_ms", "itl_ms", "error_rate", "slow_start_s", "gpu_util", "kv_cache_usage"}
_FLOATS |= _COST_FIELDS
_INTS = {"output_tokens", "tokens_per_chunk", "error_status", "error_after_tokens", "seed"}
_INTS |= _LIMIT_FIELDS | _CACHE_INTS
_BOOLS = {"error_mid_stream", "enable_prefix_caching"}
_NULLABLE = {"error_status", "gpu_util", "kv_cache_usage"}
_RANGES: dict[str, tuple[float, float]] = {
    "max_num_seqs": (1, 65_536),
    "max_num_batched_tokens": (1, 10_000_000),
    "num_gpu_blocks": (1, 100_000_000),
    "block_size": (1, 1_024),
    "step_overhead_us": (0, 60_000_000),
    "prefill_us_per_token": (0, 60_000_000),
    "decode_us_per_seq": (0, 60_000_000),
    "attention_us_per_context_token": (0, 60_000_000),
    "queue_us": (0, 60_000_000),
    "queue_us_per_prompt_token": (0, 60_000_000),
    "output_us": (0, 60_000_000),
    "time_scale": (0.001, 1_000),
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


def engine_params(config: EmulatorConfig) -> EngineParams:
    """The batching engine's parameters as this configuration sets them."""
    cost = CostModel(**{name: getattr(config, name) for name in _COST_FIELDS})
    limits = SchedulerLimits(config.max_num_seqs, config.max_num_batched_tokens)
    cache = CacheGeometry(config.num_gpu_blocks, config.block_size, config.enable_prefix_caching)
    return EngineParams(cost, limits, cache)


def _check(name: str, value: Any) -> Any:
    if name not in _FLOATS | _INTS | _BOOLS | {"outage", "mid_stream_fault", "engine"}:
        raise ConfigError(f"unknown field {name!r}")
    if value is None and name in _NULLABLE:
        return None
    if name == "outage":
        return _outage(value)
    if name == "mid_stream_fault":
        if value not in ("error", "close"):
            raise ConfigError('mid_stream_fault must be "error" or "close"')
        return value
    if name == "engine":
        if value not in ("constant", "batching"):
            raise ConfigError('engine must be "constant" or "batching"')
        return value
    if name in _BOOLS:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be a boolean")
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


def add_arguments(
    parser: argparse.ArgumentParser, *, default_port: int, batching: bool = False
) -> None:
    """The options both emulators share (`batching`: also the batching engine's, which only
    the vLLM emulator has); each adds its model options itself."""
    parser.add_argument("--host", default="127.0.0.1", help="Default: %(default)r")
    parser.add_argument(
        "--port", type=int, default=default_port, help="0 picks a free port. Default: %(default)r"
    )
    parser.add_argument("--port-file", metavar="PATH", help="write the bound port here when ready")
    parser.add_argument("--requests-log", metavar="PATH", help="append one JSON line per request")
    parser.add_argument("--admin-token", metavar="TOKEN", help="Bearer token for /_emulator/*")
    names = [f.name for f in dataclasses.fields(EmulatorConfig)]
    _add_fields(parser, [n for n in names if batching or n not in BATCHING_FIELDS])


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """The batching engine's options alone (offline tools take the emulator's flags)."""
    names = [f.name for f in dataclasses.fields(EmulatorConfig)]
    _add_fields(parser, [n for n in names if n in BATCHING_FIELDS and n != "engine"])


def _add_fields(parser: argparse.ArgumentParser, names: list[str]) -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(EmulatorConfig)}
    for name in names:
        flag, default = "--" + name.replace("_", "-"), defaults[name]
        if name == "outage":
            parser.add_argument(flag, choices=["none", "refuse", "503"], default=default)
        elif name == "mid_stream_fault":
            parser.add_argument(flag, choices=["error", "close"], default=default)
        elif name == "engine":
            parser.add_argument(
                flag,
                choices=["constant", "batching"],
                default=default,
                help="constant: fixed --ttft-ms/--itl-ms; batching: the continuous-batching "
                "engine and its cost model. Default: %(default)r",
            )
        elif name == "error_mid_stream":
            parser.add_argument(flag, action="store_true")
        elif name == "enable_prefix_caching":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            kind = int if name in _INTS else float
            parser.add_argument(
                flag, type=kind, default=default, metavar="N", help="Default: %(default)r"
            )


def from_arguments(args: argparse.Namespace) -> EmulatorConfig:
    """Build the baseline configuration, validated like a run-time patch."""
    config = EmulatorConfig()
    names = [f.name for f in dataclasses.fields(EmulatorConfig)]
    config.apply({name: getattr(args, name) for name in names if hasattr(args, name)})
    return config
