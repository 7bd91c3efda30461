"""Aggregates of many streams: percentiles over the raw samples, and goodput.

Goodput is the share of *requests* (failed ones included) that met the per-request objectives,
so it falls both with slow streams and with errors, the way a user experiences the service.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from load.stats import percentile
from load.streaming import StreamResult


@dataclass
class StreamSummary:
    """Aggregate of many streams: percentiles over the raw samples, and goodput."""

    requests: int
    errors: int
    error_rate: float
    ttft_ms: dict[str, float | None]
    itl_ms: dict[str, float | None]
    tpot_ms: dict[str, float | None]
    decode_tokens_per_s: dict[str, float | None]
    e2e_tokens_per_s: dict[str, float | None]
    output_tokens: int
    fallback_token_counts: int  # streams whose token count is the delta-count fallback
    goodput: float | None  # share of requests meeting the per-request SLOs; None: no SLO given
    samples: int = 0  # streams with a TTFT

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _spread(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "min": min(values) if values else None,
        "max": max(values) if values else None,
    }


def meets(result: StreamResult, ttft_max_ms: float, tokens_per_s_min: float) -> bool:
    """Goodput's per-request test: succeeded, first token in time, decoded fast enough.

    A stream with a single content delta has no decode rate and passes on TTFT alone.
    """
    if not result.ok or result.ttft_ms is None or result.ttft_ms > ttft_max_ms:
        return False
    rate = result.decode_tokens_per_s
    return rate is None or rate >= tokens_per_s_min


def summarize(
    results: list[StreamResult],
    *,
    ttft_max_ms: float | None = None,
    tokens_per_s_min: float | None = None,
) -> StreamSummary:
    """Percentiles of successful streams; goodput when both per-request thresholds are given."""
    good = [r for r in results if r.ok]
    errors = len(results) - len(good)
    goodput = None
    if results and ttft_max_ms is not None and tokens_per_s_min is not None:
        goodput = sum(meets(r, ttft_max_ms, tokens_per_s_min) for r in results) / len(results)
    ttfts = [r.ttft_ms for r in good if r.ttft_ms is not None]
    return StreamSummary(
        requests=len(results),
        errors=errors,
        error_rate=errors / len(results) if results else 0.0,
        ttft_ms=_spread(ttfts),
        itl_ms=_spread([g for r in good for g in r.itl_ms]),
        tpot_ms=_spread([r.tpot_ms for r in good if r.tpot_ms is not None]),
        decode_tokens_per_s=_spread(
            [r.decode_tokens_per_s for r in good if r.decode_tokens_per_s is not None]
        ),
        e2e_tokens_per_s=_spread(
            [r.e2e_tokens_per_s for r in good if r.e2e_tokens_per_s is not None]
        ),
        output_tokens=sum(r.output_tokens for r in good),
        fallback_token_counts=sum(r.tokens_source == "fallback" for r in good),
        goodput=goodput,
        samples=len(ttfts),
    )
