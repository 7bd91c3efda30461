"""Locust's open-loop user (load/openloop_locustfile.py) as a subprocess, never imported here:
the schedule is sent and ends the run; a run that falls behind exits 1 as invalid."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from load.samples import read_samples
from tests.support.emulators import LOAD_MODEL, Emulator

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]

WORKLOAD = """[workload]
late_ms = 250.0
late_share_max = 0.2
arrival = "constant"
rate = 10
duration_s = 2.0
warmup_s = 0.5
[workload.output]
mean = 4
[workload.sessions]
turns = 2
"""


def locust(
    emulator: Emulator, workdir: Path, config: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    path = workdir / "preflight.toml"
    path.write_text(config)
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(REPO / "load" / "openloop_locustfile.py"),
        "--headless",
        "--only-summary",
        "-t",
        "60s",
        "--host",
        emulator.url,
        "--chat-model",
        LOAD_MODEL,
        "--preflight-config",
        str(path),
        "--samples-prefix",
        str(workdir / "samples"),
        *extra,
    ]
    # The checkout under test, not whatever `load` the environment has installed.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=80, check=False
    )


def test_schedule_sent_and_judged(vllm_emulator: Emulator, tmp_path: Path) -> None:
    """25 sessions of 2 turns at 10/s, each record with its schedule; the run ends with the
    schedule (long before -t 60s) and exits 0."""
    run = locust(vllm_emulator, tmp_path, WORKLOAD)
    assert run.returncode == 0, run.stderr[-3000:]
    records = read_samples(tmp_path.glob("samples-*.jsonl"))
    assert len(records) == 50 and all(r["ok"] for r in records)
    assert {r["turn"] for r in records} == {0, 1}
    assert all(r["prompt_tokens"] == r["asked_prompt_tokens"] for r in records)
    assert "later than 250 ms" in run.stderr and "INVALID" not in run.stderr
    assert "ok     goodput" in run.stderr


def test_fallen_behind_exits_one(vllm_emulator: Emulator, tmp_path: Path) -> None:
    """One stream at a time at 10/s against a 200 ms TTFT: late sends, an invalid run."""
    vllm_emulator.configure(ttft_ms=200)
    config = WORKLOAD.replace("late_ms = 250.0\nlate_share_max = 0.2\n", "max_in_flight = 1\n")
    config = config.replace("turns = 2", "turns = 1")
    run = locust(vllm_emulator, tmp_path, config, "--rate", "10")
    assert run.returncode == 1, run.stderr[-3000:]
    assert "INVALID RUN" in run.stderr and "TTFT ms" not in run.stderr
