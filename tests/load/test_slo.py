"""load/slo.py: objectives from preflight.toml, judged on raw sample records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acceptance.settings import SloSettings
from load.slo import evaluate, load_slo, missed


def chat(ttft: float, ok: bool = True) -> dict[str, Any]:
    return {
        "kind": "chat",
        "ok": ok,
        "status": 200,
        "wall_start": 0.0,
        "e2e_ms": ttft + 400,
        "ttft_ms": ttft,
        "itl_ms": [20.0] * 19,
        "output_tokens": 20,
        "tokens_source": "usage",
        "decode_tokens_per_s": 50.0,
    }


def test_reads_the_slo_table(tmp_path: Path) -> None:
    """[slo] of the given file; keys not given keep their defaults."""
    toml = tmp_path / "p.toml"
    toml.write_text("[slo]\nttft_p50_ms = 42.0\n[slo.endpoint_p95_ms]\nsearch = 7.0\n")
    slo = load_slo(str(toml))
    assert slo.ttft_p50_ms == 42.0 and slo.endpoint_p95_ms == {"search": 7.0}
    assert slo.goodput_min == SloSettings().goodput_min


def test_met_and_missed() -> None:
    """Fast streams meet every objective; a slow median misses ttft_p50_ms and goodput."""
    slo = SloSettings()
    assert not missed(evaluate([chat(150.0)] * 10, slo))
    slow = evaluate([chat(150.0)] * 4 + [chat(1500.0)] * 6, slo)
    assert {r.name for r in missed(slow)} == {"ttft_p50_ms", "ttft_p95_ms", "goodput"}


def test_errors_and_endpoints() -> None:
    """Error rate counts every kind; an endpoint p95 is judged only when it was exercised."""
    slo = SloSettings(error_rate_max=0.1, endpoint_p95_ms={"search": 100.0, "health": 50.0})
    http = [
        {"kind": "http", "name": "search", "ok": ok, "response_time_ms": t}
        for ok, t in [(True, 20.0)] * 8 + [(True, 400.0), (False, 5.0)]
    ]
    results = {r.name: r for r in evaluate(http, slo)}
    assert results["error_rate"].ok and results["error_rate"].value == pytest.approx(0.1)
    assert not results["search_p95_ms"].ok
    assert "health_p95_ms" not in results


def test_no_samples_is_a_miss() -> None:
    """A run that measured nothing cannot pass."""
    assert missed(evaluate([], SloSettings()))
