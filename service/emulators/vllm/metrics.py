"""vLLM's Prometheus metrics (names, labels and buckets as vLLM v1 exports them), plus DCGM.

A separate CollectorRegistry per server: two emulators in one process (tests) must not share
counters, and a reset rebuilds the registry as a restarted vLLM would start from zero.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from service.emulators.config import engine_params
from service.emulators.state import EmulatorState
from service.emulators.vllm.engine_metrics import REQUEST_BUCKETS, EngineMetrics

# vLLM's own bucket boundaries, so dashboards' histogram_quantile() reads the same.
TTFT_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
    160.0,
    640.0,
    2560.0,
)
TPOT_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
)
TOKEN_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
# The constant mode's stand-in for a scheduler: the KV-cache and GPU figures are derived against
# it. The batching mode reports its engine's real state instead (`load_source`).
MAX_NUM_SEQS = 256
_LABELS = ("model_name", "engine")
# (running, waiting, KV-cache usage) of the batching engine.
LoadSource = Callable[[], tuple[int, int, float]]


class VllmMetrics:
    """Instruments one emulated vLLM; `observe_*` from handlers, `render()` for /metrics."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self.load_source: LoadSource | None = None  # set by the batching driver
        self.rebuild()

    def rebuild(self) -> None:
        r = self.registry = CollectorRegistry()
        labels = {"model_name": self.model_name, "engine": "0"}
        self.running = Gauge(
            "vllm:num_requests_running", "Running requests.", _LABELS, registry=r
        ).labels(**labels)
        self.waiting = Gauge(
            "vllm:num_requests_waiting", "Waiting requests.", _LABELS, registry=r
        ).labels(**labels)
        self.gpu_cache = Gauge(
            "vllm:gpu_cache_usage_perc", "GPU KV-cache usage (1 = 100%).", _LABELS, registry=r
        ).labels(**labels)
        self.kv_cache = Gauge(
            "vllm:kv_cache_usage_perc", "KV-cache usage (1 = 100%).", _LABELS, registry=r
        ).labels(**labels)
        self.prompt_tokens = Counter(
            "vllm:prompt_tokens", "Prefill tokens processed.", _LABELS, registry=r
        ).labels(**labels)
        self.generation_tokens = Counter(
            "vllm:generation_tokens", "Generation tokens.", _LABELS, registry=r
        ).labels(**labels)
        self.success = Counter(
            "vllm:request_success",
            "Successful requests.",
            (*_LABELS, "finished_reason"),
            registry=r,
        )
        self.ttft = Histogram(
            "vllm:time_to_first_token_seconds",
            "Time to first token.",
            _LABELS,
            buckets=TTFT_BUCKETS,
            registry=r,
        ).labels(**labels)
        self.tpot = Histogram(
            "vllm:time_per_output_token_seconds",
            "Time per output token.",
            _LABELS,
            buckets=TPOT_BUCKETS,
            registry=r,
        ).labels(**labels)
        self.itl = Histogram(
            "vllm:inter_token_latency_seconds",
            "Inter-token latency.",
            _LABELS,
            buckets=TPOT_BUCKETS,
            registry=r,
        ).labels(**labels)
        self.e2e = Histogram(
            "vllm:e2e_request_latency_seconds",
            "End-to-end latency.",
            _LABELS,
            buckets=REQUEST_BUCKETS,
            registry=r,
        ).labels(**labels)
        self.request_prompt = Histogram(
            "vllm:request_prompt_tokens",
            "Prompt tokens.",
            _LABELS,
            buckets=TOKEN_BUCKETS,
            registry=r,
        ).labels(**labels)
        self.request_generation = Histogram(
            "vllm:request_generation_tokens",
            "Generation tokens.",
            _LABELS,
            buckets=TOKEN_BUCKETS,
            registry=r,
        ).labels(**labels)
        self.engine = EngineMetrics(r, self.model_name)
        self.gpu_util = Gauge(
            "DCGM_FI_DEV_GPU_UTIL",
            "GPU utilization (in %).",
            ("gpu", "UUID", "device", "modelName", "Hostname"),
            registry=r,
        ).labels(
            "0",
            "GPU-00000000-0000-0000-0000-000000000000",
            "nvidia0",
            "NVIDIA A100-SXM4-80GB",
            "emulator",
        )

    def observe_finished(
        self,
        *,
        finish_reason: str,
        prompt_tokens: int,
        generation_tokens: int,
        ttft_s: float | None,
        gaps_s: list[float],
        e2e_s: float,
    ) -> None:
        """Record one finished request the way vLLM's stat logger does."""
        self.success.labels(self.model_name, "0", finish_reason).inc()
        self.prompt_tokens.inc(prompt_tokens)
        self.generation_tokens.inc(generation_tokens)
        self.request_prompt.observe(prompt_tokens)
        self.request_generation.observe(generation_tokens)
        self.e2e.observe(e2e_s)
        if ttft_s is not None:
            self.ttft.observe(ttft_s)
            if generation_tokens > 1:
                self.tpot.observe((e2e_s - ttft_s) / (generation_tokens - 1))
        for gap in gaps_s:
            self.itl.observe(gap)

    def render(self, state: EmulatorState) -> bytes:
        """Refresh the load-derived gauges (configured values win), then expose."""
        if state.config.engine == "batching" and self.load_source is not None:
            running, waiting, usage = self.load_source()
        else:
            running = min(state.running, MAX_NUM_SEQS)
            waiting = max(state.running - MAX_NUM_SEQS, 0)
            usage = min(state.running / MAX_NUM_SEQS, 1.0)
        self.running.set(running)
        self.waiting.set(waiting)
        self.engine.describe_cache(engine_params(state.config).cache)
        kv = state.config.kv_cache_usage
        kv = usage if kv is None else kv
        self.gpu_cache.set(kv)
        self.kv_cache.set(kv)
        gpu = state.config.gpu_util
        self.gpu_util.set((min(40 + running * 10, 100) if running else 0) if gpu is None else gpu)
        return generate_latest(self.registry)
