"""``python -m load.report samples*.jsonl``: merge per-process raw samples, judge the SLOs.

Distributed runs leave one sample file per worker process; this puts them together, prints the
figures (from raw samples, unrounded) and the SLO verdicts, and exits 1 when an SLO is missed,
so CI can gate on the merged result exactly as on a single-process run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from acceptance.settings import SloSettings
from load.runreport import build_report
from load.runtext import render as render_run
from load.slo import chat_summary, evaluate, load_config, missed
from load.stats import percentile
from load.summary import StreamSummary
from load.workload import WorkloadSettings


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _chat_lines(chat: StreamSummary) -> list[str]:
    rows = [
        ("TTFT ms", chat.ttft_ms),
        ("ITL ms", chat.itl_ms),
        ("TPOT ms", chat.tpot_ms),
        ("decode tokens/s", chat.decode_tokens_per_s),
        ("e2e tokens/s", chat.e2e_tokens_per_s),
    ]
    lines = [
        f"chat streams: {chat.requests} (errors {chat.errors}, goodput "
        f"{'-' if chat.goodput is None else f'{chat.goodput:.3f}'}), output tokens "
        f"{chat.output_tokens}, token counts from the fallback: {chat.fallback_token_counts}",
        f"{'metric':18} {'p50':>9} {'p95':>9} {'p99':>9} {'min':>9} {'max':>9}",
    ]
    for name, spread in rows:
        cells = " ".join(f"{_ms(spread[k]):>9}" for k in ("p50", "p95", "p99", "min", "max"))
        lines.append(f"{name:18} {cells}")
    return lines


def _http_lines(records: list[dict[str, Any]]) -> list[str]:
    names = sorted({str(r.get("name")) for r in records if r.get("kind") == "http"})
    if not names:
        return []
    lines = [f"{'endpoint':18} {'requests':>9} {'errors':>9} {'p50 ms':>9} {'p95 ms':>9}"]
    for name in names:
        mine = [r for r in records if r.get("kind") == "http" and r.get("name") == name]
        times = [float(r["response_time_ms"]) for r in mine if r.get("ok")]
        errors = sum(not r.get("ok") for r in mine)
        p50, p95 = percentile(times, 50), percentile(times, 95)
        lines.append(f"{name:18} {len(mine):>9} {errors:>9} {_ms(p50):>9} {_ms(p95):>9}")
    return lines


def render(
    records: list[dict[str, Any]], slo: SloSettings, workload: WorkloadSettings | None = None
) -> tuple[str, bool]:
    """The human-readable summary and whether every SLO was met. Records of an open-loop run
    (with a schedule) are judged as one (``load/runreport.py``): lateness first, and no
    latencies at all when the generator fell behind."""
    scheduled = [r for r in records if r.get("lateness_ms") is not None]
    if workload is not None and scheduled:
        open_rate = workload.arrival in ("constant", "poisson", "gamma")
        report = build_report(scheduled, workload, slo, rate=workload.rate if open_rate else None)
        shown = [f"samples: {len(records)}", *render_run(report, workload.percentiles)]
        return "\n".join(shown), report.ok
    lines: list[str] = [f"samples: {len(records)}"]
    if any(r.get("kind") == "chat" for r in records):
        lines += _chat_lines(chat_summary(records, slo))
    lines += _http_lines(records)
    results = evaluate(records, slo)
    lines += ["SLOs:"] + [f"  {r}" for r in results]
    return "\n".join(lines), not missed(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.report", description=__doc__)
    parser.add_argument("samples", nargs="+", type=Path, help="JSON-lines sample files")
    parser.add_argument(
        "--preflight-config",
        metavar="PATH",
        help="file with the [slo] table. "
        "Default: ./preflight.toml when present, else the built-in defaults",
    )
    parser.add_argument("--merged", type=Path, metavar="PATH", help="write all samples here")
    parser.add_argument("--json", action="store_true", help="print the chat summary as JSON")
    args = parser.parse_args(argv)
    from load.samples import read_samples

    records = read_samples(args.samples)
    config = load_config(args.preflight_config)
    slo = config.slo
    if args.merged:
        args.merged.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    text, ok = render(records, slo, config.workload)
    if args.json:
        text = json.dumps(chat_summary(records, slo).as_dict(), indent=2)
    sys.stdout.write(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
