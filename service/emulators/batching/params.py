"""What the batching engine is: its cost model, scheduler limits and KV-cache geometry.

The defaults model Llama-3.1-8B-Instruct served by vLLM on one H100-80GB (tensor parallel 1), each
value taken from a published figure named beside it. They are defaults only: every field is a
field of `EmulatorConfig` (`service/emulators/config.py`), so a CLI flag or a run-time patch sets
another model or GPU.

Cost model (a step is one forward pass of the whole batch; times in microseconds of the modelled
GPU, then multiplied by `time_scale`)::

    step      = step_overhead + prefill_per_token * prefill_tokens + decode_per_seq * decode_seqs
                + attention_per_context_token * context_tokens
    admission = queue + queue_per_prompt_token * prompt_tokens   (API server before the scheduler)
    delivery  = output                                            (after the step, per token)

It is the blackbox model of inference-sim (BLIS, github.com/inference-sim/inference-sim,
docs "Latency models"): `beta0 + beta1 * cache_miss_tokens + beta2 * decode_tokens` for a step,
`alpha0 + alpha1 * input_length` from arrival to the scheduler's queue, `alpha2` per output token,
the alphas not blocking the next step. One deviation: BLIS adds `alpha2` to every inter-token
latency it reports without advancing its clock, which no stream of real timestamps can show; here
each token is delivered `output` after the step that produced it, so `alpha2` shows in TTFT and
end-to-end latency but not in the gaps between tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- Published figures for Llama-3.1-8B-Instruct on one H100 (TP 1) --------------------------
# inference-sim defaults.yaml, model "meta-llama/llama-3.1-8b-instruct", GPU H100,
# tensor_parallelism 1, vllm_version v0.8.4, fitted by Bayesian optimisation against measured
# vLLM runs: beta_coeffs = [5752.705, 17.251, 5.999] us, alpha_coeffs = [232.462, 1.752,
# 3357.440] us, total_kv_blocks = 29205.
BLIS_BETA_US = (5752.705191348184, 17.25086436834028, 5.999143920128404)
BLIS_ALPHA_US = (232.46191091038054, 1.752360364195244, 3357.4400353290152)
BLIS_TOTAL_KV_BLOCKS = 29205
# vLLM's KV-cache block size (CacheConfig.block_size default on CUDA).
VLLM_BLOCK_SIZE = 16
# vLLM's batch defaults for the OpenAI API server on a GPU of >= 70 GiB that is not an A100
# (vllm/engine/arg_utils.py, EngineArgs.get_batch_defaults): max_num_batched_tokens 8192,
# max_num_seqs 1024.
VLLM_H100_MAX_NUM_BATCHED_TOKENS = 8192
VLLM_H100_MAX_NUM_SEQS = 1024


@dataclass(frozen=True)
class CostModel:
    """Step time and the per-request CPU delays, in microseconds of the modelled GPU."""

    step_overhead_us: float = BLIS_BETA_US[0]
    prefill_us_per_token: float = BLIS_BETA_US[1]
    decode_us_per_seq: float = BLIS_BETA_US[2]
    # BLIS's three-term fit has no context-length term (its own notes list that as a limit of
    # the fit); 0 keeps the published model, a value models attention cost growing with context.
    attention_us_per_context_token: float = 0.0
    queue_us: float = BLIS_ALPHA_US[0]
    queue_us_per_prompt_token: float = BLIS_ALPHA_US[1]
    output_us: float = BLIS_ALPHA_US[2]
    # Every modelled duration is multiplied by this: 2 runs the same model at half the speed.
    time_scale: float = 1.0

    def step_s(self, prefill_tokens: int, decode_seqs: int, context_tokens: int) -> float:
        """Seconds one step takes with this batch."""
        us = (
            self.step_overhead_us
            + self.prefill_us_per_token * prefill_tokens
            + self.decode_us_per_seq * decode_seqs
            + self.attention_us_per_context_token * context_tokens
        )
        return us * self.time_scale / 1e6

    def admission_s(self, prompt_tokens: int) -> float:
        """Seconds from the handler's submission to the request entering the waiting queue."""
        us = self.queue_us + self.queue_us_per_prompt_token * prompt_tokens
        return us * self.time_scale / 1e6

    def delivery_s(self) -> float:
        """Seconds from the end of the step that produced a token to its delivery."""
        return self.output_us * self.time_scale / 1e6


@dataclass(frozen=True)
class SchedulerLimits:
    """vLLM's `--max-num-seqs` and `--max-num-batched-tokens` (the per-step token budget)."""

    max_num_seqs: int = VLLM_H100_MAX_NUM_SEQS
    max_num_batched_tokens: int = VLLM_H100_MAX_NUM_BATCHED_TOKENS


@dataclass(frozen=True)
class CacheGeometry:
    """The KV cache: `num_gpu_blocks` blocks of `block_size` tokens, prefix caching on or off."""

    num_gpu_blocks: int = BLIS_TOTAL_KV_BLOCKS
    block_size: int = VLLM_BLOCK_SIZE
    enable_prefix_caching: bool = True  # vLLM v1's default

    @property
    def capacity_tokens(self) -> int:
        return self.num_gpu_blocks * self.block_size


@dataclass(frozen=True)
class EngineParams:
    """Everything that decides the engine's schedule; equal params give equal schedules."""

    cost: CostModel = field(default_factory=CostModel)
    limits: SchedulerLimits = field(default_factory=SchedulerLimits)
    cache: CacheGeometry = field(default_factory=CacheGeometry)
