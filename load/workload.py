"""``[workload]`` of preflight.toml: what traffic a load run sends and how it arrives.

One model for Locust (``load/openloop_user.py``), the asyncio driver of the checks
(``load/openloop.py``) and ``python -m load.capacity``, so "TTFT p95 at 8 requests/s" means the
same requests in all three. Defaults are in the field descriptions and the shipped
``preflight.toml``. Impossible workloads (lengths over the context, negative rates) fail here,
at load time; a trace is read, and refused line by line, when a run is planned
(``load/plan.py``), still before any request is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from load.lengths import LengthDistribution
from load.prompts import MESSAGE_OVERHEAD, MIN_MESSAGE_TOKENS

Arrival = Literal["closed", "constant", "poisson", "gamma", "trace"]


class PrefixSettings(BaseModel):
    """Shared-prefix groups: ``groups`` system prompts of ``tokens`` tokens each; a request
    carries one with probability ``share``, the group chosen by ``weights``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: int = Field(default=0, ge=0, description="number of shared prefixes; 0: none")
    tokens: int = Field(
        default=0, ge=0, description="tokens of each prefix, template included. Default: 0"
    )
    share: float = Field(
        default=1.0, ge=0, le=1, description="share of requests with a prefix. Default: 1.0"
    )
    weights: list[float] = Field(
        default_factory=list, description="relative share of each group; []: equal"
    )

    @model_validator(mode="after")
    def _consistent(self) -> PrefixSettings:
        if self.groups and self.tokens < MIN_MESSAGE_TOKENS:
            raise ValueError(f"tokens must be at least {MIN_MESSAGE_TOKENS} when groups > 0")
        if self.weights and len(self.weights) != self.groups:
            raise ValueError(f"weights has {len(self.weights)} entries for {self.groups} groups")
        if any(w < 0 for w in self.weights) or (self.weights and not sum(self.weights)):
            raise ValueError("weights must be >= 0 and not all 0")
        return self


class SessionSettings(BaseModel):
    """Multi-turn conversations: each arrival starts a session of ``turns`` requests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    turns: int = Field(default=1, ge=1, description="requests per session. Default: 1")
    think_time_s: float = Field(
        default=0.0, ge=0, description="pause after an answer before the next turn. Default: 0"
    )
    history: bool = Field(
        default=True, description="later turns carry the earlier questions and answers"
    )


class CapacitySettings(BaseModel):
    """``python -m load.capacity``: the bounded search for the highest rate meeting the SLO."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_rate: float = Field(default=1.0, gt=0, description="first rate tried. Default: 1.0")
    max_rate: float = Field(default=256.0, gt=0, description="never tried above. Default: 256")
    growth: float = Field(default=2.0, gt=1, description="rate factor while passing. Default: 2")
    tolerance: float = Field(
        default=0.1, gt=0, description="bisect until (fail - pass) / pass <= this. Default: 0.1"
    )
    step_duration_s: float = Field(
        default=15.0, gt=0, description="sending time of each step (after warm-up). Default: 15"
    )
    max_steps: int = Field(default=12, ge=1, description="steps at most. Default: 12")
    budget_s: float = Field(
        default=600.0, gt=0, description="wall time of the whole search at most. Default: 600"
    )
    regression_tolerance: float = Field(
        default=0.1,
        ge=0,
        lt=1,
        description="--baseline: capacity below baseline x (1 - this) fails. Default: 0.1",
    )


class GateSettings(BaseModel):
    """The release gate's runs of this workload (``latency.*``, ``load.concurrent-users``,
    ``post1h.performance-stable``): short and bounded, so that a full ``pytest -m preflight``
    keeps its minute and a half; ``python -m load.run`` and ``load.capacity`` keep the
    thorough figures. The capacity steps follow ``[workload.capacity]``'s search (start at
    ``rate``, ``growth``, bisection) for a fixed number of steps, so two runs of the gate try
    the same rates and their figures can be compared."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration_s: float = Field(
        default=4.0, gt=0, description="the run at `rate` the latency boxes judge. Default: 4"
    )
    warmup_s: float = Field(default=0.5, ge=0, description="of that run. Default: 0.5")
    request_timeout_s: float = Field(
        default=15.0,
        gt=0,
        description="a request still open this long fails (beyond every SLO). Default: 15",
    )
    capacity_steps: int = Field(
        default=1, ge=0, description="capacity steps after the run at `rate`. Default: 1"
    )
    step_duration_s: float = Field(
        default=3.5, gt=0, description="counted sending time of each step. Default: 3.5"
    )
    step_warmup_s: float = Field(default=0.5, ge=0, description="of each step. Default: 0.5")


class WorkloadSettings(BaseModel):
    """The declared workload and arrival process of the load runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, description="seeds lengths, prompts and arrivals. Default: 0")
    arrival: Arrival = Field(
        default="poisson",
        description="closed (users back to back) | constant | poisson | gamma (open loop at "
        "rate) | trace (the trace's offsets). Default: 'poisson'",
    )
    rate: float = Field(
        default=4.0, gt=0, description="new sessions (requests) per second. Default: 4.0"
    )
    burstiness: float = Field(
        default=1.0,
        gt=0,
        description="gamma shape of the gaps (vLLM's --burstiness): 1 = poisson, < 1 burstier, "
        "> 1 steadier. Default: 1.0",
    )
    users: int = Field(default=4, ge=1, description="closed loop: concurrent users. Default: 4")
    duration_s: float = Field(
        default=20.0, gt=0, description="new sessions start for this long. Default: 20"
    )
    warmup_s: float = Field(
        default=2.0, ge=0, description="requests scheduled this early are not counted. Default: 2"
    )
    input: LengthDistribution = Field(default_factory=LengthDistribution)
    output: LengthDistribution = Field(
        default_factory=lambda: LengthDistribution(mean=64)  # the reference load's max_tokens
    )
    prefix: PrefixSettings = Field(default_factory=PrefixSettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    trace: Path | None = Field(
        default=None,
        description="JSONL trace: lengths (and with arrival = 'trace' offsets and sessions) "
        "from it. Default: none",
    )
    max_model_len: int = Field(
        default=8192, ge=1, description="the model's context; longer requests are refused"
    )
    ignore_eos: bool = Field(
        default=True, description="ask for exactly the output length (vLLM's ignore_eos)"
    )
    percentiles: list[float] = Field(
        default_factory=lambda: [50.0, 90.0, 95.0, 99.0],
        description="percentiles reported. Default: [50, 90, 95, 99]",
    )
    late_ms: float = Field(default=10.0, gt=0, description="a send this late is late. Default: 10")
    late_share_max: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="a run with more late sends is invalid (coordinated omission). Default: 0.01",
    )
    max_in_flight: int = Field(
        default=1024, ge=1, description="open loop: streams at once at most. Default: 1024"
    )
    request_timeout_s: float = Field(
        default=120.0, gt=0, description="one request's longest wait. Default: 120"
    )
    expected_rate: float = Field(
        default=8.0,
        ge=0,
        description="capacity must reach this many requests/s (the peak to plan for; the "
        "default: twice the default rate). Default: 8",
    )
    capacity: CapacitySettings = Field(default_factory=CapacitySettings)
    gate: GateSettings = Field(default_factory=GateSettings)

    @model_validator(mode="after")
    def _fits(self) -> WorkloadSettings:
        if any(not 0 < p < 100 for p in self.percentiles):
            raise ValueError("percentiles must be within 0..100 (exclusive)")
        if self.arrival == "trace" and self.trace is None:
            raise ValueError("arrival = 'trace' needs trace = 'path/to/trace.jsonl'")
        longest = self.longest_prompt(self.input.upper, self.output.upper)
        if self.trace is None and longest + self.output.upper > self.max_model_len:
            raise ValueError(
                f"input.max ({self.input.upper}) and output.max ({self.output.upper}) over "
                f"{self.sessions.turns} turn(s) with a {self.prefix.tokens}-token prefix need "
                f"{longest + self.output.upper} tokens: over max_model_len ({self.max_model_len})"
            )
        return self

    def longest_prompt(self, input_tokens: int, output_tokens: int) -> int:
        """Prompt tokens of a session's last turn when every turn is this long: the prefix,
        the earlier turns (question and answer, each answer a message) and the new question."""
        prefix = self.prefix.tokens if self.prefix.groups else 0
        earlier = self.sessions.turns - 1 if self.sessions.history else 0
        return prefix + earlier * (input_tokens + output_tokens + MESSAGE_OVERHEAD) + input_tokens
