"""A run report as text: the same lines for the driver's CLI, Locust's end of run and the
capacity command's steps."""

from __future__ import annotations

from load.runreport import RunReport
from load.summary import StreamSummary

METRICS = (
    ("TTFT ms", "ttft_ms"),
    ("TPOT ms", "tpot_ms"),
    ("ITL ms", "itl_ms"),
    ("E2EL ms", "e2el_ms"),
)


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(summary: StreamSummary, percentiles: list[float]) -> list[str]:
    keys = [f"p{q:g}" for q in percentiles]
    lines = [f"{'metric':10}" + "".join(f"{k:>10}" for k in keys) + f"{'max':>10}"]
    for label, name in METRICS:
        spread = getattr(summary, name)
        cells = "".join(f"{_num(spread.get(k)):>10}" for k in [*keys, "max"])
        lines.append(f"{label:10}{cells}")
    return lines


def render(report: RunReport, percentiles: list[float]) -> list[str]:
    """Shape, lateness and validity first; latencies only for a valid run."""
    if report.rate is not None:
        asked = f"{report.rate:g} req/s asked"
    else:
        asked = "closed loop" if report.arrival == "closed" else "the trace's timing"
    lines = [
        f"{report.arrival} ({asked}): {report.requests} requests counted, "
        f"{report.warmup_requests} in the warm-up, {report.cancelled} cut at the deadline; "
        f"achieved {_num(report.achieved_rate, 3)} sessions/s"
    ]
    late = report.lateness
    if late is not None:
        lines.append(
            f"lateness: p50 {_num(late.p50_ms, 2)} ms, p99 {_num(late.p99_ms, 2)} ms, max "
            f"{_num(late.max_ms, 2)} ms; {late.late} of {late.sends} sends "
            f"({late.late_share:.2%}) later than {late.late_ms:g} ms "
            f"(limit {late.late_share_max:.2%})"
        )
    if report.invalid_reason is not None:
        lines.append(f"INVALID RUN: {report.invalid_reason}; latencies are not reported")
        return lines + _lengths(report)
    summary = report.summary
    assert summary is not None  # a valid run always has one
    goodput = "-" if summary.goodput is None else f"{summary.goodput:.3f}"
    lines.append(
        f"requests ok {summary.requests - summary.errors} of {summary.requests}; "
        f"{report.request_throughput:.2f} req/s, {report.output_throughput:.1f} output tokens/s "
        f"over {report.window_s:.1f} s; goodput {goodput} "
        f"({_num(report.goodput_rate, 2)} req/s)"
    )
    return lines + _table(summary, percentiles) + _lengths(report) + _slos(report)


def _lengths(report: RunReport) -> list[str]:
    n = report.lengths
    lines = [
        f"lengths ({n.requests} answers with usage): prompt asked {_num(n.prompt_asked_mean)} "
        f"counted {_num(n.prompt_achieved_mean)} ({n.prompt_differ} differ); output asked "
        f"{_num(n.output_asked_mean)} sent {_num(n.output_achieved_mean)} "
        f"({n.output_differ} differ)"
    ]
    return lines + [f"  differs: {example}" for example in n.examples]


def _slos(report: RunReport) -> list[str]:
    return ["SLOs:"] + [f"  {r}" for r in report.slos]
