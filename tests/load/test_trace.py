"""load/trace.py and the trace checks of load/plan.py: a bad trace is refused before sending,
naming the file, the line and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from load.plan import PlanError, plan_run
from load.trace import TraceError, read_trace
from load.workload import WorkloadSettings


def write(tmp_path: Path, *lines: Any) -> Path:
    path = tmp_path / "trace.jsonl"
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    path.write_text("\n".join(text) + "\n")
    return path


def line(offset: float, inp: int = 20, out: int = 8, **extra: Any) -> dict[str, Any]:
    return {"offset_ms": offset, "input_tokens": inp, "output_tokens": out, **extra}


def test_read_sorted_with_line_numbers(tmp_path: Path) -> None:
    """Records come back in offset order, each with its line; blank lines are skipped."""
    path = write(tmp_path, line(500), "", line(0, session="a"), line(250, prefix=1))
    numbered = read_trace(path)
    assert [n for n, _ in numbered] == [3, 4, 1]
    assert numbered[0][1].session == "a" and numbered[1][1].prefix == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([line(0), {"offset_ms": 5, "input_tokens": 9}], r"trace\.jsonl:2: field output_tokens"),
        ([line(0), "{not json"], r"trace\.jsonl:2: not valid JSON"),
        ([line(0), line(1), "[1, 2]"], r"trace\.jsonl:3: a record must be a JSON object"),
        ([line(-5)], r"trace\.jsonl:1: field offset_ms"),
        ([line(0, out=0)], r"trace\.jsonl:1: field output_tokens"),
        ([line(0, speed=2)], r"trace\.jsonl:1: field speed: Extra inputs"),
    ],
)
def test_bad_lines_name_line_and_field(tmp_path: Path, content: list[Any], message: str) -> None:
    with pytest.raises(TraceError, match=message):
        read_trace(write(tmp_path, *content))


def test_unreadable_and_empty(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read the trace"):
        read_trace(tmp_path / "missing.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TraceError, match="cannot read the trace"):
        read_trace(tmp_path / "bin.jsonl")
    with pytest.raises(TraceError, match="no records"):
        read_trace(write(tmp_path, ""))


def workload(path: Path, **extra: Any) -> WorkloadSettings:
    return WorkloadSettings.model_validate({"arrival": "trace", "trace": path, **extra})


def test_plan_refuses_before_sending(tmp_path: Path) -> None:
    """Context (history of the session counted), unknown prefix group, too short a message."""
    over = write(tmp_path, line(0, 4000, 100, session="s"), line(10, 4000, 100, session="s"))
    with pytest.raises(PlanError, match=r"trace\.jsonl:2: fields input_tokens \+ output_tokens"):
        plan_run(workload(over))
    with pytest.raises(PlanError, match=r"trace\.jsonl:1: field prefix: group 0 does not exist"):
        plan_run(workload(write(tmp_path, line(0, prefix=0))))
    with pytest.raises(PlanError, match=r"trace\.jsonl:1: field input_tokens: at least 5"):
        plan_run(workload(write(tmp_path, line(0, inp=3))))
    with pytest.raises(PlanError, match="cannot read"):
        plan_run(workload(tmp_path / "nope.jsonl"))


def test_trace_sessions_and_lengths(tmp_path: Path) -> None:
    """arrival = trace: the offsets and sessions of the file; other arrivals: its lengths."""
    path = write(
        tmp_path,
        line(0, 30, 5, session="a"),
        line(100, 40, 6),
        line(900, 50, 7, session="a"),
    )
    plan = plan_run(workload(path))
    assert [s.offset_s for s in plan.sessions] == [0.0, 0.1]
    first = plan.sessions[0]
    assert [(t.input_tokens, t.offset_s) for t in first.turns] == [(30, 0.0), (50, 0.9)]
    assert plan.rate is None
    poisson = plan_run(workload(path, arrival="poisson", rate=10, duration_s=1, warmup_s=0))
    assert len(poisson.sessions) == 10
    lengths = [s.turns[0].input_tokens for s in poisson.sessions]
    assert lengths[:4] == [30, 40, 50, 30] and all(len(s.turns) == 1 for s in poisson.sessions)
