"""The saturation knee: the highest arrival rate the engine sustains for a workload.

Above it the waiting queue grows without bound; below it every request is scheduled within a
step or so of its admission. Two ways to get it, which must agree:

- `knee_rate`: closed form. In steady state at rate `r` with fixed prompt length `P` (of which
  `C` cached), output length `O` and step time `T`, each step prefills `r T` prompts and
  decodes the `r T (O - 1)` requests between their first and last token, so
  `T = beta0 / (1 - r c)` with `c = beta1 (P - C) + beta2 (O - 1) + attention terms`, and
  `r T O` requests are running. The knee is the rate at which the first limit binds: running
  requests reach `max_num_seqs` (or what the KV cache holds), or a step's tokens reach
  `max_num_batched_tokens`.
- `saturation_rate`: simulated. The engine is given an unbounded backlog and the completion
  rate is measured once it is in steady state, which is the throughput an unstable queue
  drains at, i.e. the knee.

Lengths are the server's token counts (`usage.prompt_tokens`, including the chat template).
For lengths drawn from a distribution, give the means: the costs are linear in them (prompts
uniform in 100-1500 tokens and answers in 32-128, `max_num_seqs` 32, time scale 3.5: 9.98
requests/s from the means, 9.93 measured on the engine with the drawn lengths).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.emulators.batching.engine import EngineRequest
from service.emulators.batching.params import EngineParams
from service.emulators.batching.replay import Arrival, replay


@dataclass(frozen=True)
class Workload:
    """Fixed request shape; `shared_prefix_tokens` of every prompt are the same text."""

    prompt_tokens: int
    output_tokens: int
    shared_prefix_tokens: int = 0


@dataclass(frozen=True)
class Knee:
    """The knee rate, the limit that sets it, and the engine's state there."""

    rate: float  # requests per second
    limit: str  # "max_num_seqs" | "kv_cache" | "max_num_batched_tokens"
    step_s: float
    running: float
    tokens_per_s: float  # output tokens per second at the knee


def _cached_tokens(params: EngineParams, workload: Workload) -> int:
    """Prompt tokens a request finds cached once the shared prefix is in the cache."""
    if not params.cache.enable_prefix_caching:
        return 0
    block = params.cache.block_size
    usable = min(workload.shared_prefix_tokens, workload.prompt_tokens - 1)
    return usable // block * block


def knee_rate(params: EngineParams, workload: Workload) -> Knee:
    """The closed-form knee (see the module docstring)."""
    cost, limits, cache = params.cost, params.limits, params.cache
    scale = cost.time_scale / 1e6
    prompt, out = workload.prompt_tokens, workload.output_tokens
    computed = prompt - _cached_tokens(params, workload)
    mean_context = prompt + (out + 1) / 2
    beta0 = cost.step_overhead_us * scale
    per_request = scale * (
        cost.prefill_us_per_token * computed
        + cost.decode_us_per_seq * (out - 1)
        + cost.attention_us_per_context_token * out * mean_context
    )
    # Blocks a running request holds on average (shared prefix blocks count once: ignored).
    blocks = (prompt - _cached_tokens(params, workload) + (out + 1) / 2) / cache.block_size + 0.5
    seqs_kv = cache.num_gpu_blocks / blocks
    candidates = {
        "max_num_seqs": limits.max_num_seqs / (out * beta0 + limits.max_num_seqs * per_request),
        "kv_cache": seqs_kv / (out * beta0 + seqs_kv * per_request),
        "max_num_batched_tokens": limits.max_num_batched_tokens
        / ((computed + out - 1) * beta0 + limits.max_num_batched_tokens * per_request),
    }
    limit = min(candidates, key=lambda name: candidates[name])
    rate = candidates[limit]
    step = beta0 / (1 - rate * per_request)
    return Knee(rate, limit, step, rate * step * out, rate * out)


def _requests(workload: Workload, count: int, block_size: int) -> list[EngineRequest]:
    """Synthetic requests: the shared prefix's blocks have the same keys, the rest unique."""
    shared = workload.shared_prefix_tokens // block_size
    full = workload.prompt_tokens // block_size
    out = workload.output_tokens
    keys = [
        tuple(b + 1 if b < shared else ((i + 1) << 32) + b for b in range(full))
        for i in range(count)
    ]
    return [EngineRequest(f"r{i}", workload.prompt_tokens, out, keys[i]) for i in range(count)]


def saturation_rate(params: EngineParams, workload: Workload, requests: int | None = None) -> float:
    """Completion rate under an unbounded backlog, measured over the middle half of the
    completions (the first quarter is start-up, the last quarter the backlog running dry).
    Default size: ten batches' worth, at least 3000 requests (steady state within 1 %)."""
    block = params.cache.block_size
    if requests is None:
        requests = max(3000, 10 * round(knee_rate(params, workload).running))
    arrivals = [Arrival(r, 0.0) for r in _requests(workload, requests, block)]
    result = replay(arrivals, params)
    finished = sorted(
        p.schedule.finished_at
        for p in result.requests.values()
        if p.schedule is not None and p.schedule.finished_at is not None
    )
    low, high = finished[len(finished) // 4], finished[3 * len(finished) // 4]
    return (len(finished) // 2) / (high - low)


def constant_rate_arrivals(
    workload: Workload, rate: float, count: int, block_size: int
) -> list[Arrival]:
    """`count` requests submitted every `1 / rate` seconds (for showing the queue below and
    above the knee)."""
    return [Arrival(r, i / rate) for i, r in enumerate(_requests(workload, count, block_size))]
