"""What a load run measured, and whether it may say so: lateness, latencies, throughput, lengths.

One reading of the raw records for the asyncio driver, Locust's open-loop user and the capacity
search. An open-loop generator that sent late measured a gentler load than the one asked for,
and the latencies of the requests it held back are the ones it never saw (coordinated
omission); so when more than ``late_share_max`` of the sends were later than ``late_ms`` the
run is *invalid* and its latencies are withheld, not reported. Requested lengths are set beside
the server's ``usage`` counts, so a target (or tokenizer) that counts differently is seen.
Warm-up requests (scheduled before ``warmup_s``) are left out of every figure except the
achieved rate, which judges the generator over its whole schedule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from acceptance.settings import SloSettings
from load.slo import SloResult, evaluate
from load.stats import percentile
from load.streaming import StreamResult
from load.summary import StreamSummary, summarize
from load.workload import WorkloadSettings


@dataclass(frozen=True)
class Lateness:
    """How late the sends were against their schedule (counted requests only)."""

    sends: int
    late: int  # later than late_ms
    late_share: float
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    late_ms: float
    late_share_max: float

    @property
    def valid(self) -> bool:
        return self.late_share <= self.late_share_max


@dataclass(frozen=True)
class Lengths:
    """Requested against achieved token counts of the successful requests with ``usage``."""

    requests: int
    prompt_asked_mean: float | None
    prompt_achieved_mean: float | None
    prompt_differ: int
    output_asked_mean: float | None
    output_achieved_mean: float | None
    output_differ: int
    examples: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    """The verdict on one run; ``summary`` and ``slos`` are empty when it is invalid."""

    arrival: str
    rate: float | None
    achieved_rate: float | None
    requests: int
    warmup_requests: int
    cancelled: int
    window_s: float
    lateness: Lateness | None
    lengths: Lengths
    request_throughput: float
    output_throughput: float
    goodput_rate: float | None
    summary: StreamSummary | None
    slos: list[SloResult]
    invalid_reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.invalid_reason is None

    @property
    def ok(self) -> bool:
        return self.valid and all(r.ok for r in self.slos)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["valid"], data["ok"] = self.valid, self.ok
        data["slos"] = [asdict(r) for r in self.slos]
        return data


def lateness_of(records: list[dict[str, Any]], workload: WorkloadSettings) -> Lateness | None:
    """None for records without a schedule (a closed loop has nothing to be late for)."""
    values = [float(r["lateness_ms"]) for r in records if r.get("lateness_ms") is not None]
    if not values:
        return None
    late = sum(v > workload.late_ms for v in values)
    return Lateness(
        sends=len(values),
        late=late,
        late_share=late / len(values),
        p50_ms=percentile(values, 50),
        p99_ms=percentile(values, 99),
        max_ms=max(values),
        late_ms=workload.late_ms,
        late_share_max=workload.late_share_max,
    )


def achieved_rate(records: list[dict[str, Any]]) -> float | None:
    """New sessions per second as sent: first turns over the time of the last one's send,
    counted from the schedule's zero (the n-th arrival is planned at n / rate)."""
    sent = [float(r["sent_s"]) for r in records if r.get("turn", 0) == 0 and "sent_s" in r]
    last = max(sent, default=0.0)
    return len(sent) / last if last > 0 else None


def lengths_of(records: list[dict[str, Any]]) -> Lengths:
    with_usage = [
        r
        for r in records
        if r.get("ok") and r.get("tokens_source") == "usage" and "asked_output_tokens" in r
    ]

    def mean(key: str) -> float | None:
        values = [float(r[key]) for r in with_usage if r.get(key) is not None]
        return sum(values) / len(values) if values else None

    prompt = [r for r in with_usage if r.get("prompt_tokens") != r.get("asked_prompt_tokens")]
    output = [r for r in with_usage if r.get("output_tokens") != r.get("asked_output_tokens")]
    examples = [
        f"{r.get('request_id')}: prompt {r.get('asked_prompt_tokens')} asked, "
        f"{r.get('prompt_tokens')} counted; output {r.get('asked_output_tokens')} asked, "
        f"{r.get('output_tokens')} sent"
        for r in (prompt + output)[:3]
    ]
    return Lengths(
        requests=len(with_usage),
        prompt_asked_mean=mean("asked_prompt_tokens"),
        prompt_achieved_mean=mean("prompt_tokens"),
        prompt_differ=len(prompt),
        output_asked_mean=mean("asked_output_tokens"),
        output_achieved_mean=mean("output_tokens"),
        output_differ=len(output),
        examples=examples,
    )


def _window_s(counted: list[dict[str, Any]]) -> float:
    """First counted send to last counted end: the span the throughputs are over."""
    if not counted:
        return 0.0
    start = min(float(r["sent_s"]) for r in counted)
    end = max(float(r["sent_s"]) + float(r["e2e_ms"]) / 1000 for r in counted)
    return max(end - start, 0.0)


def _cut() -> StreamResult:
    return StreamResult(False, None, 0.0, 0.0, error="cancelled at the run's deadline")


def build_report(
    records: list[dict[str, Any]],
    workload: WorkloadSettings,
    slo: SloSettings,
    *,
    arrival: str | None = None,
    rate: float | None = None,
    cancelled: int = 0,
    stopped_early: bool = False,
) -> RunReport:
    """Judge a run's raw records (each with ``sent_s``; open loop also ``lateness_ms``)."""
    counted = [r for r in records if not r.get("warmup")]
    lateness = lateness_of(counted, workload)
    reason = None
    if lateness is not None and not lateness.valid:
        reason = (
            f"the generator fell behind: {lateness.late_share:.1%} of sends were later than "
            f"{lateness.late_ms:g} ms (at most {lateness.late_share_max:.1%} allowed); the "
            "latencies of the held-back requests were never measured (coordinated omission)"
        )
        if stopped_early:
            reason += "; arrivals stopped once that was certain"
    elif not counted and not cancelled:
        # Sessions cut at the deadline are answers the target never finished: a run of only
        # those measured the target (every request failed), it is not a run without requests.
        reason = "no request was counted (all in the warm-up, or none sent)"
    streams = [StreamResult.from_record(r) for r in counted]
    # Sessions cut at the run's deadline count as failed requests: the target never answered.
    streams += [_cut() for _ in range(cancelled)]
    window = _window_s(counted)
    summary = None
    goodput_rate = None
    if reason is None:
        summary = summarize(
            streams,
            ttft_max_ms=slo.ttft_p95_ms,
            tokens_per_s_min=slo.tokens_per_s_min,
            e2el_max_ms=slo.e2el_max_ms,
            percentiles=workload.percentiles,
        )
        if summary.goodput is not None and window > 0:
            goodput_rate = summary.goodput * len(streams) / window
    ok_streams = [s for s in streams if s.ok]
    return RunReport(
        arrival=arrival or workload.arrival,
        rate=rate,
        achieved_rate=achieved_rate(records),
        requests=len(counted),
        warmup_requests=len(records) - len(counted),
        cancelled=cancelled,
        window_s=window,
        lateness=lateness,
        lengths=lengths_of(counted),
        request_throughput=len(ok_streams) / window if window > 0 else 0.0,
        output_throughput=sum(s.output_tokens for s in ok_streams) / window if window else 0.0,
        goodput_rate=goodput_rate,
        summary=summary,
        slos=[] if reason is not None else evaluate(counted, slo),
        invalid_reason=reason,
    )
