"""Aggregates of many streams: percentiles over the raw samples, and goodput.

Goodput is the share of *requests* (failed ones included) that met the per-request objectives,
so it falls both with slow streams and with errors, the way a user experiences the service. The
objectives are vLLM's (``benchmarks/serve.py --goodput``): TTFT, TPOT (here as its inverse, the
decode rate, measured between the first and last content delta) and, when set, end-to-end
latency (E2EL).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
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
    e2el_ms: dict[str, float | None] = field(default_factory=dict)  # request sent to stream end

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Always reported: the SLOs of [slo] are judged on p50 and p95.
BASE_PERCENTILES = (50.0, 95.0, 99.0)


def percentile_key(q: float) -> str:
    """``p95``, ``p99.9``: the key of a percentile in a spread."""
    return f"p{q:g}"


def _spread(values: list[float], percentiles: Iterable[float]) -> dict[str, float | None]:
    spread = {percentile_key(q): percentile(values, q) for q in percentiles}
    spread["min"] = min(values) if values else None
    spread["max"] = max(values) if values else None
    return spread


def meets(
    result: StreamResult,
    ttft_max_ms: float,
    tokens_per_s_min: float,
    e2el_max_ms: float | None = None,
) -> bool:
    """Goodput's per-request test: succeeded, first token in time, decoded fast enough, and
    (when an E2EL bound is given) finished in time.

    A stream with a single content delta has no decode rate and passes on TTFT alone (vLLM
    counts its TPOT as 0).
    """
    if not result.ok or result.ttft_ms is None or result.ttft_ms > ttft_max_ms:
        return False
    if e2el_max_ms is not None and result.e2e_ms > e2el_max_ms:
        return False
    rate = result.decode_tokens_per_s
    return rate is None or rate >= tokens_per_s_min


def summarize(
    results: list[StreamResult],
    *,
    ttft_max_ms: float | None = None,
    tokens_per_s_min: float | None = None,
    e2el_max_ms: float | None = None,
    percentiles: Iterable[float] = (),
) -> StreamSummary:
    """Percentiles of successful streams (p50, p95, p99 and any others asked for); goodput
    when both the TTFT and the decode-rate thresholds are given."""
    good = [r for r in results if r.ok]
    errors = len(results) - len(good)
    goodput = None
    if results and ttft_max_ms is not None and tokens_per_s_min is not None:
        goodput = sum(meets(r, ttft_max_ms, tokens_per_s_min, e2el_max_ms) for r in results) / len(
            results
        )
    ttfts = [r.ttft_ms for r in good if r.ttft_ms is not None]
    qs = sorted(set(BASE_PERCENTILES) | set(percentiles))

    def spread(values: list[float]) -> dict[str, float | None]:
        return _spread(values, qs)

    return StreamSummary(
        requests=len(results),
        errors=errors,
        error_rate=errors / len(results) if results else 0.0,
        ttft_ms=spread(ttfts),
        itl_ms=spread([g for r in good for g in r.itl_ms]),
        tpot_ms=spread([r.tpot_ms for r in good if r.tpot_ms is not None]),
        decode_tokens_per_s=spread(
            [r.decode_tokens_per_s for r in good if r.decode_tokens_per_s is not None]
        ),
        e2e_tokens_per_s=spread(
            [r.e2e_tokens_per_s for r in good if r.e2e_tokens_per_s is not None]
        ),
        output_tokens=sum(r.output_tokens for r in good),
        fallback_token_counts=sum(r.tokens_source == "fallback" for r in good),
        goodput=goodput,
        samples=len(ttfts),
        e2el_ms=spread([r.e2e_ms for r in good]),
    )
