"""``python -m load.capacity`` as a subprocess against the vLLM emulator, at a tiny budget:
table, capacity.json and the SVG chart; exit 1 below expected_rate or the baseline; exit 2 for
input refused before sending."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.emulators import LOAD_MODEL, Emulator

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]

CONFIG = """[slo]
ttft_p95_ms = 2000.0
[workload]
arrival = "constant"
warmup_s = 0.3
late_ms = 250.0  # a busy machine may delay sends; the generator's precision is the bench's
late_share_max = 0.2
[workload.output]
mean = 2
[workload.capacity]
start_rate = 2
max_rate = 4
step_duration_s = 1.0
budget_s = 30
"""


def capacity(
    emulator: Emulator, workdir: Path, *extra: str, config_text: str = CONFIG
) -> subprocess.CompletedProcess[str]:
    config = workdir / "preflight.toml"
    config.write_text(config_text)
    argv = [
        sys.executable,
        "-m",
        "load.capacity",
        "--url",
        emulator.url,
        "--model",
        LOAD_MODEL,
        "--preflight-config",
        str(config),
        "--out",
        str(workdir / "out"),
        *extra,
    ]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=80, check=False)


def test_sweep_writes_table_json_and_chart(vllm_emulator: Emulator, tmp_path: Path) -> None:
    """2 then 4 requests/s pass; max_rate ends the search; capacity 4 >= expected 3: exit 0."""
    run = capacity(vllm_emulator, tmp_path, "--expected-rate", "3")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "TTFT p95" in run.stdout and "stopped: max_rate reached" in run.stdout
    result = json.loads((tmp_path / "out" / "capacity.json").read_text())
    assert [s["load"] for s in result["steps"]] == [2, 4]
    assert all(s["passed"] and s["valid"] for s in result["steps"])
    assert result["capacity_rate"] == 4 and result["ok"]
    svg = (tmp_path / "out" / "capacity.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "<image" not in svg  # self-contained
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(result | {"capacity_rate": 8.0}))
    again = capacity(vllm_emulator, tmp_path, "--baseline", str(baseline), "--max-steps", "1")
    assert again.returncode == 1 and "REGRESSED" in again.stdout, again.stdout


def test_below_expected_rate_fails(vllm_emulator: Emulator, tmp_path: Path) -> None:
    """An SLO the emulator cannot meet (TTFT 100 ms > 50 ms): nothing passes, exit 1."""
    strict = CONFIG.replace("ttft_p95_ms = 2000.0", "ttft_p95_ms = 50.0")
    run = capacity(
        vllm_emulator, tmp_path, "--max-steps", "2", "--expected-rate", "1", config_text=strict
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "BELOW" in run.stdout and "fail" in run.stdout


def test_bad_input_refused_before_sending(vllm_emulator: Emulator, tmp_path: Path) -> None:
    """A trace line missing a field: exit 2 naming the line; the emulator saw nothing."""
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"offset_ms": 0, "input_tokens": 9, "output_tokens": 2}\n{"offset_ms": 1}\n')
    run = capacity(vllm_emulator, tmp_path, "--trace", str(trace))
    assert run.returncode == 2
    assert "t.jsonl:2: field input_tokens" in run.stderr, run.stderr
    bad = capacity(vllm_emulator, tmp_path, "--rate", "-3")
    assert bad.returncode == 2 and "rate" in bad.stderr
    assert vllm_emulator.requests("/v1/chat/completions") == []
