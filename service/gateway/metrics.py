"""Prometheus metrics of the gateway (default registry, served by ``GET /metrics``).

Labels are configured names only (provider, public model), never client input, so a client
sending random model names cannot create series: unknown models are refused before counting.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# TTFT spans a warm cache hit (ms) to a long prefill on a busy GPU (tens of s).
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0)

TTFT = Histogram(
    "platform_llm_ttft_seconds",
    "Gateway receipt of a chat request to the first content token sent to the client.",
    ["provider", "model"],
    buckets=TTFT_BUCKETS,
)
OUTPUT_TOKENS = Counter(
    "platform_llm_output_tokens_total",
    "Completion tokens served, as the provider reported them (usage).",
    ["provider", "model"],
)
PROVIDER_UP = Gauge(
    "platform_llm_provider_up",
    "1 when the provider's last health probe succeeded and it is not in cooldown, else 0.",
    ["provider"],
)
FAILOVERS = Counter(
    "platform_llm_failovers_total",
    "Requests moved to the next provider after the previous one failed before the first byte.",
    ["from_provider", "to_provider"],
)
UPSTREAM_LATENCY = Histogram(
    "platform_llm_upstream_latency_seconds",
    "Duration of one upstream call (until its last byte), by provider and outcome.",
    ["provider", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
STREAM_RESUMES = Counter(
    "platform_llm_stream_resumes_total",
    "Streams that broke after content reached the client and were continued by another"
    " provider in the same client stream.",
    ["from_provider", "to_provider"],
)
