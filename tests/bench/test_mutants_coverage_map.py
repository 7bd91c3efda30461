"""The coverage map's stored form and the choice of boxes for a mutant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.mutants import coverage_map as cm


def test_ranges_round_trip() -> None:
    """Line sets are stored as ranges and read back unchanged."""
    assert cm.ranges([7, 1, 2, 3, 9, 10]) == "1-3,7,9-10"
    assert cm.unranges("1-3,7,9-10") == [1, 2, 3, 7, 9, 10]
    assert cm.ranges([]) == "" and cm.unranges("") == []


def test_files_round_trip() -> None:
    """The stored form groups lines by their id set and decodes to the same mapping."""
    lines = {
        "service/a.py": {1: {"x.a"}, 2: {"x.a"}, 5: {"x.a", "y.b"}},
        "service/b.py": {3: set()},
    }
    decoded = cm.decode_files(json.loads(json.dumps(cm.encode_files(lines))))
    assert decoded == {
        path: {n: frozenset(ids) for n, ids in by.items()} for path, by in lines.items()
    }


def test_lines_count_for_the_neighbouring_checks_too() -> None:
    """A line run under check B also counts for A and C (labels switch late); a label that is
    no check (the boot, the stop after the last check) is BOOT and nobody's neighbour."""
    order = cm.read_order("10 t::a\n20 t::b\n30 t::c\n40 t::d\n50 (after checks)\n")
    checks_of = {"t::a": ["x.a"], "t::b": ["x.b"], "t::c": ["y.c"], "t::d": ["y.d"]}
    contexts = {
        "service/m.py": {1: ["t::b"], 2: ["(boot)"], 3: ["", "t::d"], 4: ["(after checks)"]}
    }
    lines = cm.lines_by_check(contexts, checks_of, order)["service/m.py"]
    assert lines[1] == {"x.a", "x.b", "y.c"}
    assert lines[2] == {cm.BOOT}
    assert lines[3] == {cm.BOOT, "y.c", "y.d"}
    assert lines[4] == {cm.BOOT}


def test_checks_shorter_than_the_label_poll_count_for_the_label_before() -> None:
    """Checks that start within the processes' lag after the next label run under the label
    of the check before them: their work counts for them too, however many they are."""
    order = [(10.0, "t::a"), (10.01, "t::b"), (10.02, "t::c"), (10.03, "t::d"), (30.0, "t::e")]
    checks_of = {n: [n.replace("t::", "x.")] for _, n in order}
    lines = cm.lines_by_check({"service/m.py": {1: ["t::a"]}}, checks_of, order)
    assert lines["service/m.py"][1] == {"x.a", "x.b", "x.c", "x.d"}


def test_selection_by_line_module_fallback_or_none(tmp_path: Path) -> None:
    """A line's own boxes; lines run at boot take their module's too; uncovered modules the
    fallback's (prefixes expand); else nothing."""
    stored = cm.encode_files({"service/m.py": {1: {"x.a"}, 2: {cm.BOOT}, 3: {"y.c", cm.BOOT}}})
    stored["baseline"] = {"x.a": "pass", "y.c": "pass", "z.e": "pass", "z.f": "pass"}
    (tmp_path / "map.json").write_text(json.dumps(stored))
    (tmp_path / "fallback.yaml").write_text("service/child.py: [z., x.a]\n")
    cmap = cm.CoverageMap.load(tmp_path / "map.json", tmp_path / "fallback.yaml")
    assert cmap.select("service/m.py", 1) == cm.Selection(["x.a"], "line")
    assert cmap.select("service/m.py", 2) == cm.Selection(["x.a", "y.c"], "module")
    # at boot and under y.c: the module's boxes judge what the boot did with it
    assert cmap.select("service/m.py", 3) == cm.Selection(["x.a", "y.c"], "line")
    assert cmap.select("service/child.py", 9) == cm.Selection(["x.a", "z.e", "z.f"], "fallback")
    assert cmap.select("service/m.py", 40) == cm.Selection([], "none")
    cmap.fallback["service/m.py"] = ["z.f"]  # its rules run in compiled code, or in a loop
    assert cmap.select("service/m.py", 2) == cm.Selection(["x.a", "y.c", "z.f"], "module")
    assert cmap.select("service/m.py", 1) == cm.Selection(["x.a", "z.f"], "line")
    assert cmap.select("service/m.py", 40) == cm.Selection(["z.f"], "fallback")
    cmap.fallback["service/child.py"] = ["z.nowhere"]
    with pytest.raises(ValueError, match="names no checklist id"):
        cmap.select("service/child.py", 9)
