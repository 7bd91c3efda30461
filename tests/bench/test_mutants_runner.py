"""Sampling, resuming and judging a mutant run (no stack: the records are made by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mutmut", reason="the mutation bench needs the bench extra")

from bench.mutants import runner
from bench.mutants.__main__ import main
from bench.mutants.generate import Mutant


def _mutants(n: int) -> list[Mutant]:
    return [
        Mutant("service.m", "service/m.py", line, "number", 0, f"{line:012d}")
        for line in range(1, n + 1)
    ]


def test_sample_is_deterministic_by_seed() -> None:
    """Same seed, same sample; another seed, another one; a size past the pool takes all."""
    pool = _mutants(200)
    first, again = runner.sample(pool, 10, seed=1), runner.sample(pool, 10, seed=1)
    assert first == again and len(first) == 10
    assert runner.sample(pool, 10, seed=2) != first
    assert first == sorted(first, key=lambda m: m.line)
    assert runner.sample(pool, 500, seed=1) == pool
    assert runner.sample(pool, None, seed=1) == pool


def test_recorded_sample_follows_a_mutant_whose_line_moved() -> None:
    """The sample recorded at the start is found again: by id, else (the line moved) by its
    module, operator and fingerprint; a change that is gone is named, not replaced."""
    before = _mutants(3)
    moved = [
        Mutant(m.module, m.path, m.line + 2, m.operator, m.index, m.fingerprint) for m in before
    ]
    recorded = [[m.id, m.fingerprint] for m in before] + [["service.m:9:number:0", "f" * 12]]
    found, gone = runner.resolve(moved[1:], recorded)
    assert found == moved[1:]
    assert gone == [before[0].id, "service.m:9:number:0"]
    same, none = runner.resolve(before, recorded[:3])
    assert (same, none) == (before, [])
    # The same change at two places of the module (a string used twice): the place on its line
    twice = [
        Mutant("service.m", "service/m.py", 12, "string", 4, "a" * 12),
        Mutant("service.m", "service/m.py", 17, "string", 2, "a" * 12),
    ]
    found, gone = runner.resolve(twice, [["service.m:13:string:2", "a" * 12]])
    assert (found, gone) == ([twice[1]], [])


def test_resume_runs_only_undecided_mutants(tmp_path: Path) -> None:
    """Decided outcomes are skipped; errors and mutants never run are run again; the last
    record of a mutant wins."""
    pool = _mutants(4)
    runner.append(tmp_path, {"id": pool[0].id, "status": "error"})
    runner.append(tmp_path, {"id": pool[0].id, "status": "killed"})
    runner.append(tmp_path, {"id": pool[1].id, "status": "survived"})
    runner.append(tmp_path, {"id": pool[2].id, "status": "error"})
    done = runner.load_results(tmp_path)
    assert done[pool[0].id]["status"] == "killed"
    assert runner.pending(pool, done) == [pool[2], pool[3]]
    lines = (tmp_path / runner.RESULTS).read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines][:2] == [pool[0].id, pool[0].id]


def test_rerun_round_runs_the_named_outcomes_once(tmp_path: Path) -> None:
    """A round runs again the mutants last decided as it names, each once: a record of the
    round decides it for the round; undecided mutants run in every round."""
    pool = _mutants(4)
    runner.append(tmp_path, {"id": pool[0].id, "status": "killed"})
    runner.append(tmp_path, {"id": pool[1].id, "status": "survived"})
    runner.append(tmp_path, {"id": pool[2].id, "status": "no_coverage"})
    again = runner.Round(1, frozenset({"survived", "no_coverage"}))
    assert runner.pending(pool, runner.load_results(tmp_path), again) == pool[1:]
    runner.append(tmp_path, {"id": pool[1].id, "status": "survived", "round": 1})
    assert runner.pending(pool, runner.load_results(tmp_path), again) == pool[2:]
    assert runner.pending(pool, runner.load_results(tmp_path)) == [pool[3]]
    # recorded as equivalent: a round does not run it again (undecided ones still run)
    skip = runner.Round(2, frozenset({"survived", "no_coverage"}), frozenset({pool[2].id}))
    assert runner.pending(pool, runner.load_results(tmp_path), skip) == [pool[1], pool[3]]


def test_rerun_round_runs_its_mutants_before_the_undecided(tmp_path: Path) -> None:
    """A round cut by its budget has re-decided what it was started for first."""
    pool = _mutants(3)
    runner.append(tmp_path, {"id": pool[2].id, "status": "survived"})
    again = runner.Round(1, frozenset({"survived"}))
    assert runner.pending(pool, runner.load_results(tmp_path), again) == [pool[2], *pool[:2]]


def test_rerun_needs_a_run_to_resume(tmp_path: Path) -> None:
    """--rerun without --resume over a run's directory is refused; with it, the plan keeps
    the round, so the chunks after it go on with the same round."""
    out = tmp_path / "run"
    assert main(["--rerun", "survived", "--out", str(out)]) == 2
    out.mkdir()
    (out / "plan.json").write_text(
        json.dumps({"sample": 0, "seed": 1, "modules": ["service.logs"], "operators": None})
    )
    runner.append(out, {"id": "x", "status": "survived"})
    assert main(["--resume", "--rerun", "survived", "--out", str(out), "--budget-s", "0"]) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert (plan["round"], plan["rerun"]) == (1, ["survived"])
    assert main(["--resume", "--out", str(out), "--budget-s", "0"]) == 0
    assert json.loads((out / "plan.json").read_text())["round"] == 1


def test_judge_kills_on_a_failed_box_only() -> None:
    """A failed selected box kills; a survivor's box that passed before and is now not verified
    is noted, not counted as a kill (a kill may have stopped before the others ran); boxes
    outside the selection do not matter."""
    checklist = {
        "items": [
            {"id": "a.x", "verdict": "pass"},
            {"id": "a.y", "verdict": "fail"},
            {"id": "b.z", "verdict": "not_verified"},
            {"id": "c.w", "verdict": "fail"},
        ]
    }
    baseline = {"a.x": "pass", "a.y": "pass", "b.z": "pass", "c.w": "pass"}
    assert runner.judge(checklist, ["a.x", "a.y", "b.z"], baseline) == {
        "status": "killed",
        "failed": ["a.y"],
        "unverified": [],
    }
    assert runner.judge(checklist, ["a.x", "b.z"], baseline) == {
        "status": "survived",
        "failed": [],
        "unverified": ["b.z"],
    }


def test_only_names_mutants_of_the_sample(tmp_path: Path) -> None:
    """--only keeps the run to mutants of its recorded sample; an id outside it is refused."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "plan.json").write_text(
        json.dumps({"sample": 1, "seed": 1, "modules": ["service.logs"], "operators": None})
    )
    assert main(["--resume", "--out", str(out), "--budget-s", "0"]) == 0
    ((sampled, _fingerprint),) = json.loads((out / "plan.json").read_text())["mutants"]
    common = ["--resume", "--rerun", "killed", "--out", str(out), "--budget-s", "0"]
    assert main([*common, "--only", "service.logs:1:nothing:0"]) == 2
    assert main([*common, "--only", sampled]) == 0
