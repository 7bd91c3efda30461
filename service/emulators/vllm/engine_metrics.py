"""vLLM's engine-level metrics (vllm/v1/metrics/loggers.py, v0.10): what the scheduler did.

Fed by the batching driver after every step and every finished request, so they describe the
emulated engine's real state: prefix-cache lookups, preemptions, tokens per step, and the
phases of each request in engine time (queued, prefill, decode).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from service.emulators.batching.engine import Schedule, StepResult
from service.emulators.batching.params import CacheGeometry

# vllm:iteration_tokens_total's buckets, and vLLM's one list of request-latency buckets (the phase
# histograms here, e2e latency in metrics.py).
ITERATION_BUCKETS = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
REQUEST_BUCKETS = (
    0.3,
    0.5,
    0.8,
    1.0,
    1.5,
    2.0,
    2.5,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    40.0,
    50.0,
    60.0,
    120.0,
    240.0,
    480.0,
    960.0,
    1920.0,
    7680.0,
)
_LABELS = ("model_name", "engine")


class EngineMetrics:
    """Counters and histograms of one engine, registered on the emulator's registry."""

    def __init__(self, registry: CollectorRegistry, model_name: str) -> None:
        r, labels = registry, {"model_name": model_name, "engine": "0"}

        def counter(name: str, text: str) -> Counter:
            return Counter(name, text, _LABELS, registry=r).labels(**labels)

        def histogram(name: str, text: str, buckets: tuple[float, ...]) -> Histogram:
            made = Histogram(name, text, _LABELS, buckets=buckets, registry=r)
            return made.labels(**labels)

        # The gpu_* names are the ones vLLM deprecated in 0.9 and still exports in 0.10.
        self.queries = counter("vllm:prefix_cache_queries", "Prefix cache queries, in tokens.")
        self.hits = counter("vllm:prefix_cache_hits", "Prefix cache hits, in tokens.")
        self.gpu_queries = counter("vllm:gpu_prefix_cache_queries", "DEPRECATED: queries.")
        self.gpu_hits = counter("vllm:gpu_prefix_cache_hits", "DEPRECATED: hits.")
        self.preemptions = counter("vllm:num_preemptions", "Cumulative number of preemptions.")
        self.iteration = histogram(
            "vllm:iteration_tokens_total", "Tokens per engine step.", ITERATION_BUCKETS
        )
        self.queue = histogram(
            "vllm:request_queue_time_seconds", "Time in WAITING.", REQUEST_BUCKETS
        )
        self.prefill = histogram(
            "vllm:request_prefill_time_seconds", "Time in PREFILL.", REQUEST_BUCKETS
        )
        self.decode = histogram(
            "vllm:request_decode_time_seconds", "Time in DECODE.", REQUEST_BUCKETS
        )
        self.inference = histogram(
            "vllm:request_inference_time_seconds", "Time in RUNNING.", REQUEST_BUCKETS
        )
        self.cache_info = Gauge(
            "vllm:cache_config_info",
            "Information of the LLMEngine CacheConfig",
            ("block_size", "num_gpu_blocks", "enable_prefix_caching", "engine"),
            registry=r,
        )

    def describe_cache(self, geometry: CacheGeometry) -> None:
        """vLLM's info gauge (1, the facts in labels) for the cache geometry now in use."""
        self.cache_info.clear()
        self.cache_info.labels(
            str(geometry.block_size),
            str(geometry.num_gpu_blocks),
            str(geometry.enable_prefix_caching),
            "0",
        ).set(1)

    def observe_step(self, result: StepResult) -> None:
        """What vLLM's stat logger records per iteration: prompts finished, tokens produced."""
        self.iteration.observe(result.prompt_tokens_done + len(result.tokens))
        self.preemptions.inc(len(result.preempted))
        for counter in (self.queries, self.gpu_queries):
            counter.inc(result.prefix_queries)
        for counter in (self.hits, self.gpu_hits):
            counter.inc(result.prefix_hits)

    def observe_finished(self, schedule: Schedule) -> None:
        """A finished request's phases, in engine time as vLLM's engine core stamps them."""
        scheduled, first, last = (
            schedule.scheduled_at,
            schedule.first_token_at,
            schedule.last_token_at,
        )
        if scheduled is None:
            return
        self.queue.observe(scheduled - schedule.admitted_at)
        if first is not None and last is not None:
            self.prefill.observe(first - scheduled)
            self.decode.observe(last - first)
            self.inference.observe(last - scheduled)
