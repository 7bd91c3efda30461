"""`python -m bench.gateway overhead` at a tiny size, so the benchmark does not rot unnoticed.

The figures are not judged (absolute times depend on the machine, and a loaded 2-core machine
makes them noisy); what is checked is that every target streamed without an error and that the
table has the columns the README documents. The LiteLLM run needs its venv and skips without it.
(No __init__.py in this folder: as a package it would be imported as `bench`, hiding the
benchmarks' own package.)
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.gateway_report import percentile
from bench.peers import missing, peer_python

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]
COLUMNS = {"p50", "p50_added", "p95", "p95_added", "before", "after", "tps", "ratio", "cpu_ms"}


def overhead(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "overhead.json"
    argv = [
        sys.executable,
        "-m",
        "bench.gateway",
        "overhead",
        "--requests",
        "2",
        "--concurrency",
        "1",
        "2",
        "--json",
        str(out),
        *extra,
    ]
    run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=200, check=False)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    levels: dict[str, Any] = json.loads(out.read_text())["levels"]
    return levels


def test_overhead_tiny_run_of_our_gateway(tmp_path: Path) -> None:
    """Direct and gateway, staggered and burst, rate limiting on: every stream completes, and
    every documented figure is there for every level."""
    levels = overhead(tmp_path, "--arrivals", "staggered", "burst")
    assert set(levels) == {"staggered/1", "staggered/2", "burst/1", "burst/2"}
    for table in levels.values():
        assert set(table) == {"direct", "gateway"}
        for row in table.values():
            assert set(row) >= COLUMNS
            assert row["errors"] == 0
            assert row["streams"] >= 2
        gateway = table["gateway"]
        # Generous: the gateway relays the same 50 tokens at the emulator's pace.
        assert 0.5 < gateway["ratio"] < 1.5
        assert not math.isnan(gateway["before"])  # its streams matched the emulator's log


def test_overhead_tiny_run_behind_the_ingress(tmp_path: Path) -> None:
    """With `--ingress --floor`, nginx fronts the emulator alone, the bare hop (the floor of any
    Python gateway behind the ingress) and the API processes; every one of them streams."""
    levels = overhead(
        tmp_path, "--tls", "--floor", "--ingress", "--api-processes", "1", "--concurrency", "1"
    )
    table = levels["staggered/1"]
    assert set(table) == {"direct", "gateway", "floor", "ingress", "ingress+floor", "ingress+1gw"}
    for name, row in table.items():
        assert row["errors"] == 0, name
        assert 0.5 < row["ratio"] < 1.5, name


def test_overhead_tiny_run_with_litellm(tmp_path: Path) -> None:
    """The LiteLLM peer starts offline with its alias and relays the streams (skips without its
    venv: `bash bench/peers/setup.sh litellm`)."""
    if peer_python("litellm") is None:
        pytest.skip(missing("litellm"))
    levels = overhead(tmp_path, "--peer", "litellm", "--concurrency", "1")
    row = levels["staggered/1"]["litellm"]
    assert row["errors"] == 0
    assert 0.5 < row["ratio"] < 1.5


def test_percentile_interpolates_between_order_statistics() -> None:
    """p50 of an even count is the mean of the middle two; p95/p99 sit between the top two."""
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 50) == 5.5
    assert percentile(values, 100) == 10.0
    assert 9.0 < percentile(values, 95) < 10.0
    assert math.isnan(percentile([], 50))
