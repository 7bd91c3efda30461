"""SLOs of a load run, judged on the raw samples (never on Locust's rounded stats).

The thresholds are ``[slo]`` of ``preflight.toml`` (``acceptance.settings.SloSettings``): one
definition for the release checks and for Locust's exit code. Locust rounds response times above
100 ms to 10 ms in its stats, which is too coarse for a 150 ms TTFT, so everything here is
computed from the per-request records the users write (``load/samples.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acceptance.settings import SloSettings, SuiteConfig, find_config_file, load_suite_config
from load.stats import percentile
from load.streaming import StreamResult
from load.summary import StreamSummary, summarize

DEFAULT_CONFIG = "preflight.toml"


def load_config(path: str | None = None) -> SuiteConfig:
    """The given file, ./preflight.toml when present, else the defaults (``PREFLIGHT_*``
    environment variables override either, as in the suite)."""
    found = find_config_file(path or DEFAULT_CONFIG, DEFAULT_CONFIG, (Path.cwd(),))
    return load_suite_config(found)


def load_slo(path: str | None = None) -> SloSettings:
    """``[slo]`` of the given file, of ./preflight.toml when present, else the defaults."""
    return load_config(path).slo


@dataclass(frozen=True)
class SloResult:
    """One objective: the measured value against its limit."""

    name: str
    value: float | None
    limit: float
    ok: bool
    kind: str  # "max" | "min"

    def __str__(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.4g}"
        sign = "<=" if self.kind == "max" else ">="
        state = "ok" if self.ok else "MISSED"
        return f"{state:6} {self.name}: {shown} (objective {sign} {self.limit:g})"


def _at_most(name: str, value: float | None, limit: float) -> SloResult:
    return SloResult(name, value, limit, value is not None and value <= limit, "max")


def _at_least(name: str, value: float | None, limit: float) -> SloResult:
    return SloResult(name, value, limit, value is not None and value >= limit, "min")


def chat_summary(records: list[dict[str, Any]], slo: SloSettings) -> StreamSummary:
    streams = [StreamResult.from_record(r) for r in records if r.get("kind") == "chat"]
    return summarize(
        streams,
        ttft_max_ms=slo.ttft_p95_ms,
        tokens_per_s_min=slo.tokens_per_s_min,
        e2el_max_ms=slo.e2el_max_ms,
    )


def evaluate(records: list[dict[str, Any]], slo: SloSettings) -> list[SloResult]:
    """Every objective that the samples allow judging; no samples at all is itself a miss."""
    if not records:
        return [SloResult("requests", 0, 1, False, "min")]
    failed = sum(not r.get("ok") for r in records)
    results = [_at_most("error_rate", failed / len(records), slo.error_rate_max)]
    if any(r.get("kind") == "chat" for r in records):
        chat = chat_summary(records, slo)
        results += [
            _at_most("ttft_p50_ms", chat.ttft_ms["p50"], slo.ttft_p50_ms),
            _at_most("ttft_p95_ms", chat.ttft_ms["p95"], slo.ttft_p95_ms),
            _at_most("itl_p95_ms", chat.itl_ms["p95"], slo.itl_p95_ms),
            _at_least(
                "decode_tokens_per_s_p50", chat.decode_tokens_per_s["p50"], slo.tokens_per_s_min
            ),
            _at_least("goodput", chat.goodput, slo.goodput_min),
        ]
    for name, limit in slo.endpoint_p95_ms.items():
        times = [
            float(r["response_time_ms"])
            for r in records
            if r.get("kind") == "http" and r.get("name") == name and r.get("ok")
        ]
        if times:
            results.append(_at_most(f"{name}_p95_ms", percentile(times, 95), limit))
    return results


def missed(results: list[SloResult]) -> list[SloResult]:
    return [r for r in results if not r.ok]
