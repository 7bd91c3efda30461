"""Streaming chat latency at the declared workload: TTFT, and tokens per second.

Both checks judge one open-loop run of ``[workload]`` (its lengths, prefixes and sessions) at its
arrival process and ``rate`` (``acceptance/support/declared_load.py``; durations of
``[workload.gate]``), measured by ``load.streaming`` and judged by ``load.runreport``, the code
``python -m load.run``, Locust and the capacity search use, against ``[slo]``. A release report
and a load test can then not disagree on what "TTFT p95 at 4 requests/s" means. A run whose
generator fell behind is not verified (its latencies were not measured as declared).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.reports.charts import histogram_chart, line_chart
from acceptance.settings import SuiteConfig
from acceptance.support.declared_load import DeclaredRun, declared_run
from load.summary import StreamSummary


@pytest.fixture(scope="module")
def streaming_run(
    pytestconfig: pytest.Config, target: Target, config: SuiteConfig
) -> DeclaredRun | str:
    """The session's run at the declared rate (shared with load.concurrent-users)."""
    return declared_run(pytestconfig, target, config)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _spread(values: dict[str, float | None]) -> dict[str, float | None]:
    return {key: _r(value) for key, value in values.items()}


def _common(declared: DeclaredRun) -> dict[str, Any]:
    """How the run was sent and how exactly: the workload, the generator's lateness, lengths."""
    workload, report, records = declared.workload, declared.report, declared.run.records
    late = report.lateness
    counted = [r for r in records if not r.get("warmup")]
    return {
        "arrival": workload.arrival,
        "rate": workload.rate,
        "burstiness": workload.burstiness if workload.arrival == "gamma" else None,
        "achieved_rate": _r(report.achieved_rate),
        "duration_s": workload.duration_s,
        "warmup_s": workload.warmup_s,
        "input_tokens": workload.input.model_dump(),
        "output_tokens": workload.output.model_dump(),
        "requests": report.requests,
        "warmup_requests": report.warmup_requests,
        "lengths": asdict(report.lengths),
        "lateness": None if late is None else {k: _r(v) for k, v in asdict(late).items()},
        "error_examples": dict(
            Counter(r.get("error") for r in counted if not r["ok"]).most_common(3)
        ),
        "providers": dict(Counter(r.get("provider") for r in counted)),
        "run_s": round(declared.wall_s, 2),
    }


def _judged(run: DeclaredRun | str, evidence: Evidence) -> tuple[DeclaredRun, StreamSummary]:
    """The run and its summary; not verified when none ran or the generator fell behind."""
    if isinstance(run, str):
        not_verified(run)
    evidence.add(**_common(run))
    if run.report.summary is None:
        not_verified(
            f"the run at {run.workload.rate:g} requests/s is invalid: {run.report.invalid_reason}"
        )
    return run, run.report.summary


def _errors_within_budget(summary: StreamSummary, config: SuiteConfig) -> None:
    assert summary.samples > 0, "no stream produced a token"
    assert summary.error_rate <= config.slo.error_rate_max, (
        f"{summary.errors}/{summary.requests} streams failed"
    )


@pytest.mark.checklist("latency.ttft")
def test_ttft_within_slo(
    streaming_run: DeclaredRun | str, config: SuiteConfig, evidence: Evidence
) -> None:
    """TTFT (request sent -> first content token) p50 and p95 within [slo] at the declared
    workload and rate."""
    run, summary = _judged(streaming_run, evidence)
    slo = config.slo
    counted = [r for r in run.run.records if not r.get("warmup")]
    evidence.add(
        errors=summary.errors,
        ttft_ms=_spread(summary.ttft_ms),
        ttft_p50_ms=_r(summary.ttft_ms["p50"]),
        ttft_p95_ms=_r(summary.ttft_ms["p95"]),
        ttft_p99_ms=_r(summary.ttft_ms["p99"]),
        ttft_max_ms=_r(summary.ttft_ms["max"]),
        goodput=_r(summary.goodput),
        goodput_rate=_r(run.report.goodput_rate),
        target_p50_ms=slo.ttft_p50_ms,
        target_p95_ms=slo.ttft_p95_ms,
        ttft_histogram=histogram_chart(
            "TTFT distribution",
            [round(r["ttft_ms"], 2) for r in counted if r["ok"] and r.get("ttft_ms") is not None],
            x_label="time to first token (ms)",
            y_label="requests",
            vlines={"SLO p50": slo.ttft_p50_ms, "SLO p95": slo.ttft_p95_ms},
        ),
        ttft_chart=line_chart(
            "TTFT per request over the run",
            {
                "ttft": [
                    [round(r["sent_s"], 3), round(r["ttft_ms"], 2)]
                    for r in counted
                    if r.get("ttft_ms") is not None
                ]
            },
            x_label="request sent, time since start (s)",
            y_label="time to first token (ms)",
            hlines={"SLO p95": slo.ttft_p95_ms},
        ),
    )
    _errors_within_budget(summary, config)
    p50, p95 = summary.ttft_ms["p50"], summary.ttft_ms["p95"]
    assert p50 is not None and p50 <= slo.ttft_p50_ms, (
        f"TTFT p50 {p50:.1f} ms > {slo.ttft_p50_ms} ms"
    )
    assert p95 is not None and p95 <= slo.ttft_p95_ms, (
        f"TTFT p95 {p95:.1f} ms > {slo.ttft_p95_ms} ms"
    )


@pytest.mark.checklist("latency.tokens-per-second")
def test_tokens_per_second_within_range(
    streaming_run: DeclaredRun | str, config: SuiteConfig, evidence: Evidence
) -> None:
    """Per-stream decode tokens/s (median stream) and all streams' output tokens/s together
    reach their floors at the declared workload and rate."""
    run, summary = _judged(streaming_run, evidence)
    slo = config.slo
    decode = summary.decode_tokens_per_s
    aggregate = run.report.output_throughput
    counted = [r for r in run.run.records if not r.get("warmup")]
    evidence.add(
        errors=summary.errors,
        decode_tokens_per_s_p50=_r(decode["p50"]),
        decode_tokens_per_s_min=_r(decode["min"]),
        e2e_tokens_per_s_p50=_r(summary.e2e_tokens_per_s["p50"]),
        tpot_ms=_spread(summary.tpot_ms),
        tpot_p50_ms=_r(summary.tpot_ms["p50"]),
        itl_ms=_spread(summary.itl_ms),
        itl_p95_ms=_r(summary.itl_ms["p95"]),
        e2el_ms=_spread(summary.e2el_ms),
        aggregate_tokens_per_s=round(aggregate, 1),
        request_throughput=_r(run.report.request_throughput),
        output_tokens=summary.output_tokens,
        token_counts_from_fallback=summary.fallback_token_counts,
        goodput=_r(summary.goodput),
        target_per_stream=slo.tokens_per_s_min,
        target_aggregate=slo.aggregate_tokens_per_s_min,
        itl_histogram=histogram_chart(
            "Inter-token latency distribution",
            [round(gap, 2) for r in counted if r["ok"] for gap in r.get("itl_ms") or ()],
            x_label="gap between content deltas (ms)",
            y_label="gaps",
            vlines={"SLO p95": slo.itl_p95_ms},
        ),
    )
    _errors_within_budget(summary, config)
    assert decode["p50"] is not None, "no stream had two content deltas"
    assert decode["p50"] >= slo.tokens_per_s_min, (
        f"median stream decodes {decode['p50']:.1f} tokens/s < {slo.tokens_per_s_min}"
    )
    assert aggregate >= slo.aggregate_tokens_per_s_min, (
        f"aggregate {aggregate:.1f} tokens/s < {slo.aggregate_tokens_per_s_min}"
    )
