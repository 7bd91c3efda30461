"""vLLM's metrics in batching mode report the engine: its queues, cache, prefix hits, steps."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.emulators.batching.engine import Engine, EngineRequest
from service.emulators.batching.params import CacheGeometry, EngineParams, SchedulerLimits
from service.emulators.config import EmulatorConfig
from service.emulators.recorder import Recorder
from service.emulators.state import EmulatorState
from service.emulators.vllm.metrics import VllmMetrics


def samples(metrics: VllmMetrics, state: EmulatorState) -> dict[str, float]:
    """name -> value of every sample (one label set per name here)."""
    text = metrics.render(state).decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


def test_gauges_follow_the_engine_and_counters_its_steps() -> None:
    """Two requests sharing a prefix, max_num_seqs 1: one runs, one waits; the second's hit
    shows in the prefix-cache counters; a step's prompt and tokens in iteration_tokens."""
    engine = Engine(EngineParams(limits=SchedulerLimits(1, 8192), cache=CacheGeometry(100, 4)))
    state = EmulatorState("vllm", EmulatorConfig(engine="batching"), Recorder(None), None)
    metrics = VllmMetrics("m")
    metrics.load_source = lambda: (len(engine.running), len(engine.waiting), engine.kv.usage)
    for name in "ab":
        engine.add(EngineRequest(name, 16, 2, (1, 2, 3, 4)), 0.0)
    first = engine.step(0.0)
    metrics.engine.observe_step(first)
    values = samples(metrics, state)
    assert values["vllm:num_requests_running"] == 1 and values["vllm:num_requests_waiting"] == 1
    # 4 blocks of 100 hold the 16 computed tokens (the new token's slot comes with its step).
    assert values["vllm:kv_cache_usage_perc"] == values["vllm:gpu_cache_usage_perc"]
    assert values["vllm:kv_cache_usage_perc"] == pytest.approx(0.04)
    assert values["vllm:iteration_tokens_total_sum"] == 16 + 1  # a prompt done, a token out
    now = first.end
    while engine.has_work():
        result = engine.step(now)
        metrics.engine.observe_step(result)
        for schedule in result.finished:
            metrics.engine.observe_finished(schedule)
        now = result.end
    values = samples(metrics, state)
    assert values["vllm:prefix_cache_queries_total"] == 32
    assert (
        values["vllm:prefix_cache_hits_total"] == values["vllm:gpu_prefix_cache_hits_total"] == 12
    )
    assert values["vllm:num_preemptions_total"] == 0
    assert values["vllm:request_queue_time_seconds_count"] == 2
    assert values["vllm:num_requests_running"] == values["vllm:kv_cache_usage_perc"] == 0
    assert values["vllm:cache_config_info"] == 1


def test_constant_mode_keeps_its_derived_gauges() -> None:
    """The constant mode has no engine: running requests stand in, as before."""
    state = EmulatorState("vllm", EmulatorConfig(), Recorder(None), None)
    metrics = VllmMetrics("m")
    metrics.load_source = lambda: (99, 99, 1.0)  # ignored outside batching mode
    state.running = 3
    values = samples(metrics, state)
    assert values["vllm:num_requests_running"] == 3 and values["vllm:num_requests_waiting"] == 0
