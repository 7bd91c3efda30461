"""load/runreport.py: an open-loop run that fell behind is invalid and reports no latencies;
requested and achieved lengths are shown side by side; the warm-up is not counted."""

from __future__ import annotations

from typing import Any

from acceptance.settings import SloSettings
from load.runreport import build_report
from load.runtext import render
from load.workload import WorkloadSettings


def record(i: int, *, late_ms: float = 0.5, warmup: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "chat",
        "ok": True,
        "status": 200,
        "wall_start": 0.0,
        "e2e_ms": 300.0,
        "ttft_ms": 100.0,
        "itl_ms": [10.0] * 19,
        "output_tokens": 20,
        "tokens_source": "usage",
        "prompt_tokens": 128,
        "decode_tokens_per_s": 100.0,
        "tpot_ms": 10.0,
        "request_id": f"r{i}",
        "session": i,
        "turn": 0,
        "asked_prompt_tokens": 128,
        "asked_output_tokens": 20,
        "scheduled_s": (i + 1) * 0.1,
        "sent_s": (i + 1) * 0.1,
        "lateness_ms": late_ms,
        "warmup": warmup,
        **extra,
    }


def test_on_time_run_is_valid() -> None:
    records = [record(i, warmup=i < 5) for i in range(100)]
    report = build_report(records, WorkloadSettings(), SloSettings(), rate=10.0)
    assert report.valid and report.ok
    assert report.requests == 95 and report.warmup_requests == 5
    assert report.achieved_rate == 10.0
    assert report.summary is not None and report.summary.ttft_ms["p90"] == 100.0
    assert report.lengths.prompt_differ == report.lengths.output_differ == 0
    assert any("TTFT ms" in line for line in render(report, [50, 90]))


def test_late_generator_makes_the_run_invalid() -> None:
    """2 % of sends later than 10 ms (limit 1 %): invalid, no latency figures, not ok."""
    records = [record(i, late_ms=25.0 if i % 50 == 0 else 1.0) for i in range(100)]
    report = build_report(records, WorkloadSettings(), SloSettings(), rate=10.0)
    assert not report.valid and not report.ok
    assert report.summary is None and report.slos == []
    assert report.lateness is not None and report.lateness.late == 2
    text = "\n".join(render(report, [50]))
    assert "INVALID RUN" in text and "coordinated omission" in text and "TTFT" not in text
    lenient = WorkloadSettings(late_share_max=0.05)
    assert build_report(records, lenient, SloSettings(), rate=10.0).valid


def test_usage_that_differs_is_reported() -> None:
    records = [record(i) for i in range(10)]
    records[3]["prompt_tokens"] = 140
    records[7]["output_tokens"] = 12
    report = build_report(records, WorkloadSettings(), SloSettings())
    assert report.lengths.prompt_differ == 1 and report.lengths.output_differ == 1
    assert any("r3: prompt 128 asked, 140 counted" in e for e in report.lengths.examples)


def test_goodput_counts_e2el_and_cut_sessions() -> None:
    """With [slo] e2el_max_ms the per-request E2EL counts; sessions cut at the deadline are
    failed requests."""
    records = [record(i, e2e_ms=300.0 if i % 2 else 900.0) for i in range(10)]
    report = build_report(records, WorkloadSettings(), SloSettings(e2el_max_ms=500.0))
    assert report.summary is not None and report.summary.goodput == 0.5
    cut = build_report(records, WorkloadSettings(), SloSettings(), cancelled=10)
    assert cut.summary is not None and cut.summary.goodput == 0.5 and cut.summary.errors == 10


def test_a_run_of_only_cut_sessions_is_judged_not_invalid() -> None:
    """A target so slow that no request ended before the deadline failed every request; the
    run is valid (the generator kept its schedule) and not ok, not "nothing was counted"."""
    warm = [record(i, warmup=True) for i in range(2)]
    report = build_report(warm, WorkloadSettings(), SloSettings(), rate=4.0, cancelled=8)
    assert report.valid and not report.ok
    assert report.summary is not None and report.summary.errors == 8
    assert report.summary.samples == 0 and report.summary.goodput == 0.0
    assert not build_report(warm, WorkloadSettings(), SloSettings(), rate=4.0).valid
