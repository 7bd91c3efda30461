"""The mutation report: scores, sections, equivalents, survivors with their diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.mutants import report


def _record(n: int, status: str, ids: list[str], failed: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    return {
        "id": f"service.m:{n}:number:0",
        "module": "service.m",
        "status": status,
        "ids": ids,
        "failed": failed or [],
        "fingerprint": f"{n:012d}",
        "selection": "line",
        "diff": f"-x = {n}\n+x = {n + 1}\n",
        "boot_s": 10.0,
        "checks_s": 20.0,
        "total_s": 31.0,
    }


RECORDS = [
    _record(1, "killed", ["auth.a", "queue.b"], ["auth.a"]),
    _record(2, "killed_boot", ["queue.b"]),
    _record(3, "survived", ["auth.a"]),
    _record(4, "survived", ["auth.a"]),
    _record(5, "no_coverage", []),
    _record(6, "timeout", ["queue.b"]),
]


def test_score_leaves_out_equivalents_and_timeouts() -> None:
    """killed + boot kills over the counted ones; an equivalent is listed, not counted."""
    equivalents = {"service.m:4:number:0": report.Equivalent("service.m:4:number:0", "same")}
    summary = report.summarise(RECORDS, equivalents, {"auth.a": "Authentication"})
    assert summary["score"] == 0.5  # 2 of 4: killed, boot; survived 3, no coverage 5
    assert summary["equivalent"] == [{"id": "service.m:4:number:0", "reason": "same"}]
    assert summary["statuses"]["timeout"] == 1
    assert [s["id"] for s in summary["survivors"]] == [
        "service.m:3:number:0",
        "service.m:5:number:0",
    ]
    auth, queue = summary["per_section"]["auth"], summary["per_section"]["queue"]
    assert (auth["section"], auth["covered"], auth["killed_here"]) == ("Authentication", 2, 1)
    assert (queue["covered"], queue["killed_here"], queue["killed"]) == (2, 1, 2)


def test_stale_equivalent_is_counted_again() -> None:
    """An entry whose fingerprint no longer matches the mutant is reported stale, not applied."""
    entry = report.Equivalent("service.m:3:number:0", "same", fingerprint="ffffffffffff")
    summary = report.summarise(RECORDS, {entry.id: entry}, {})
    assert summary["stale_equivalents"] == [{"id": entry.id, "reason": "same"}]
    assert entry.id in [s["id"] for s in summary["survivors"]]


def test_markdown_lists_every_survivor_with_its_diff(tmp_path: Path) -> None:
    """report.md and report.json are written; each survivor's diff is in the markdown."""
    summary = report.summarise(RECORDS, {}, {})
    report.write(tmp_path, summary)
    text = (tmp_path / "report.md").read_text()
    assert "+x = 4" in text and "+x = 6" in text and "+x = 2" not in text
    assert (tmp_path / "report.json").is_file()


def test_equivalents_need_a_reason(tmp_path: Path) -> None:
    """The equivalents file is read; an entry without a reason is refused."""
    path = tmp_path / "eq.yaml"
    path.write_text("equivalent:\n- id: a:1:number:0\n  reason: no interface shows it\n")
    assert report.load_equivalents(path)["a:1:number:0"].reason == "no interface shows it"
    path.write_text("equivalent:\n- id: a:1:number:0\n")
    with pytest.raises(ValueError, match="no reason"):
        report.load_equivalents(path)
    assert report.load_equivalents(tmp_path / "missing.yaml") == {}


def test_survivor_left_by_decision_is_still_counted(tmp_path: Path) -> None:
    """A `not_checked` entry adds its reason to the survivor; the score does not change."""
    path = tmp_path / "eq.yaml"
    path.write_text(
        "not_checked:\n- id: service.m:3:number:0\n  reason: an error message's wording\n"
    )
    decided = report.load_equivalents(path, "not_checked")
    summary = report.summarise(RECORDS, {}, {}, decided)
    assert summary["score"] == report.summarise(RECORDS, {}, {})["score"]
    reasons = {s["id"]: s["not_checked"] for s in summary["survivors"]}
    assert reasons["service.m:3:number:0"] == "an error message's wording"
    assert reasons["service.m:4:number:0"] is None
    assert "by the triage's decision: an error message's wording" in report.markdown(summary)
