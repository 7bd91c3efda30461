"""Streaming chat latency under the reference load: TTFT, and tokens per second.

Both checks judge one run of ``[reference_load]`` (a few concurrent streams for a few seconds),
measured by ``load.streaming``, the code Locust's chat user uses, against ``[slo]`` of
preflight.toml, the objectives a Locust run is judged by. A release report and a load test can
then not disagree on what "TTFT p95" means.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import USER_AGENT, Target
from acceptance.harness.verdicts import not_verified
from acceptance.reports.charts import histogram_chart, line_chart
from acceptance.settings import SuiteConfig
from load.reference import ReferenceRun, run_reference_load
from load.summary import StreamSummary, summarize


def _model(target: Target, config: SuiteConfig) -> str | None:
    """The configured model, the stack's gateway model, else the first the target lists."""
    if config.reference_load.model:
        return config.reference_load.model
    if target.stack is not None:
        public = target.stack.emulators.get("vllm", {}).get("public_model")
        if public:
            return str(public)
    headers = {"Authorization": f"Bearer {target.api_key}", "User-Agent": USER_AGENT}
    try:
        answer = httpx.get(
            f"{target.url}/v1/models", headers=headers, verify=target.verify, timeout=10.0
        )
        return str(answer.json()["data"][0]["id"])
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        return None


@pytest.fixture(scope="module")
def streaming_run(target: Target, config: SuiteConfig) -> ReferenceRun | str:
    """One reference run shared by both checks; a string says why it could not run."""
    if target.api_key is None:
        return "no API key (use --api-key or PREFLIGHT_API_KEY)"
    model = _model(target, config)
    if model is None:
        return "no chat model configured ([reference_load] model) or listed by /v1/models"
    load = config.reference_load
    return run_reference_load(
        target.url,
        headers={"Authorization": f"Bearer {target.api_key}", "User-Agent": USER_AGENT},
        verify=target.verify,
        model=model,
        streams=load.streams,
        duration_s=load.duration_s,
        max_tokens=load.max_tokens,
    )


def _summary(run: ReferenceRun | str, config: SuiteConfig) -> tuple[ReferenceRun, StreamSummary]:
    if isinstance(run, str):
        not_verified(run)
    slo = config.slo
    return run, summarize(
        run.results, ttft_max_ms=slo.ttft_p95_ms, tokens_per_s_min=slo.tokens_per_s_min
    )


def _common(run: ReferenceRun, summary: StreamSummary) -> dict[str, Any]:
    errors = Counter(r.error for r in run.results if not r.ok)
    return {
        "streams": run.streams,
        "requests": summary.requests,
        "errors": summary.errors,
        "error_examples": dict(errors.most_common(3)),
        "providers": dict(Counter(r.provider for r in run.results)),
        "run_s": round(run.wall_s, 2),
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@pytest.mark.checklist("latency.ttft")
def test_ttft_within_slo(
    streaming_run: ReferenceRun | str, config: SuiteConfig, evidence: Evidence
) -> None:
    """TTFT (request sent -> first content token) p50 and p95 within [slo] under the load."""
    run, summary = _summary(streaming_run, config)
    start = min((r.wall_start for r in run.results), default=0.0)
    slo = config.slo
    evidence.add(
        **_common(run, summary),
        samples=summary.samples,
        ttft_p50_ms=_r(summary.ttft_ms["p50"]),
        ttft_p95_ms=_r(summary.ttft_ms["p95"]),
        ttft_p99_ms=_r(summary.ttft_ms["p99"]),
        ttft_max_ms=_r(summary.ttft_ms["max"]),
        target_p50_ms=config.slo.ttft_p50_ms,
        target_p95_ms=config.slo.ttft_p95_ms,
        ttft_histogram=histogram_chart(
            "TTFT distribution",
            [round(r.ttft_ms, 2) for r in run.results if r.ok and r.ttft_ms is not None],
            x_label="time to first token (ms)",
            y_label="requests",
            vlines={"SLO p50": slo.ttft_p50_ms, "SLO p95": slo.ttft_p95_ms},
        ),
        ttft_chart=line_chart(
            "TTFT per request over the run",
            {
                "ttft": [
                    [round(r.wall_start - start, 3), round(r.ttft_ms, 2)]
                    for r in run.results
                    if r.ttft_ms is not None
                ]
            },
            x_label="request sent, time since start (s)",
            y_label="time to first token (ms)",
            hlines={"SLO p95": slo.ttft_p95_ms},
        ),
    )
    assert summary.samples > 0, f"no stream produced a token: {_common(run, summary)}"
    assert summary.error_rate <= config.slo.error_rate_max, (
        f"{summary.errors}/{summary.requests} streams failed"
    )
    p50, p95 = summary.ttft_ms["p50"], summary.ttft_ms["p95"]
    assert p50 is not None and p50 <= config.slo.ttft_p50_ms, (
        f"TTFT p50 {p50:.1f} ms > {config.slo.ttft_p50_ms} ms"
    )
    assert p95 is not None and p95 <= config.slo.ttft_p95_ms, (
        f"TTFT p95 {p95:.1f} ms > {config.slo.ttft_p95_ms} ms"
    )


@pytest.mark.checklist("latency.tokens-per-second")
def test_tokens_per_second_within_range(
    streaming_run: ReferenceRun | str, config: SuiteConfig, evidence: Evidence
) -> None:
    """Per-stream decode tokens/s (median stream) and all streams' output tokens/s together
    reach their floors."""
    run, summary = _summary(streaming_run, config)
    decode = summary.decode_tokens_per_s
    aggregate = run.aggregate_tokens_per_s
    evidence.add(
        **_common(run, summary),
        decode_tokens_per_s_p50=_r(decode["p50"]),
        decode_tokens_per_s_min=_r(decode["min"]),
        e2e_tokens_per_s_p50=_r(summary.e2e_tokens_per_s["p50"]),
        tpot_p50_ms=_r(summary.tpot_ms["p50"]),
        itl_p95_ms=_r(summary.itl_ms["p95"]),
        aggregate_tokens_per_s=round(aggregate, 1),
        output_tokens=summary.output_tokens,
        token_counts_from_fallback=summary.fallback_token_counts,
        target_per_stream=config.slo.tokens_per_s_min,
        target_aggregate=config.slo.aggregate_tokens_per_s_min,
        itl_histogram=histogram_chart(
            "Inter-token latency distribution",
            [round(gap, 2) for r in run.results if r.ok for gap in r.itl_ms],
            x_label="gap between content deltas (ms)",
            y_label="gaps",
            vlines={"SLO p95": config.slo.itl_p95_ms},
        ),
    )
    assert decode["p50"] is not None, f"no stream had two content deltas: {_common(run, summary)}"
    assert decode["p50"] >= config.slo.tokens_per_s_min, (
        f"median stream decodes {decode['p50']:.1f} tokens/s < {config.slo.tokens_per_s_min}"
    )
    assert aggregate >= config.slo.aggregate_tokens_per_s_min, (
        f"aggregate {aggregate:.1f} tokens/s < {config.slo.aggregate_tokens_per_s_min}"
    )
