"""Mutant generation: which modules, which mutants, stable ids, applying one."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("mutmut", reason="the mutation bench needs the bench extra")

from bench.mutants import generate

SOURCE = '''"""Doc."""

LIMIT = 10


def allowed(count: int, flag: bool = True) -> bool:
    return count < LIMIT and flag


def untouched(count: int) -> bool:
    return count > 3  # pragma: no mutate
'''


def _tree(tmp_path: Path) -> Path:
    for name in (
        "service/__init__.py",
        "service/limits.py",
        "service/jobs/__init__.py",
        "service/jobs/queue.py",
        "service/emulators/vllm.py",
        "service/stack/core.py",
        "service/fixtures/build.py",
        "bench/x.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(SOURCE)
    return tmp_path


def test_platform_modules_come_from_the_tree(tmp_path: Path) -> None:
    """Every module under service/ except its test infrastructure, packages by their name."""
    modules = generate.platform_modules(_tree(tmp_path))
    assert modules == {
        "service": "service/__init__.py",
        "service.jobs": "service/jobs/__init__.py",
        "service.jobs.queue": "service/jobs/queue.py",
        "service.limits": "service/limits.py",
    }


def test_modules_are_selected_by_name_path_or_package(tmp_path: Path) -> None:
    """A package prefix takes its modules; a path works as well as a dotted name."""
    modules = generate.platform_modules(_tree(tmp_path))
    assert list(generate.select_modules(modules, ["service.jobs"])) == [
        "service.jobs",
        "service.jobs.queue",
    ]
    assert list(generate.select_modules(modules, ["service/limits.py"])) == ["service.limits"]
    with pytest.raises(ValueError, match="no platform module"):
        generate.select_modules(modules, ["service.nowhere"])


def test_mutants_have_stable_ids_and_skip_annotations_and_pragmas(tmp_path: Path) -> None:
    """Same tree, same ids; nothing in annotations or on a `no mutate` line."""
    root = _tree(tmp_path)
    first = generate.mutants_of(root, "service.limits", "service/limits.py")
    again = generate.mutants_of(root, "service.limits", "service/limits.py")
    assert first == again
    ids = [m.id for m in first]
    assert len(ids) == len(set(ids))
    assert "service.limits:7:swap_op:0" in ids  # and becomes or (outer node first)
    assert "service.limits:7:swap_op:1" in ids  # < becomes <=
    assert "service.limits:3:number:0" in ids
    assert not [m for m in first if m.line == 11]  # the pragma line
    assert {m.line for m in first} <= {3, 6, 7}  # 6: the default value True


def test_apply_changes_one_node_and_diff_shows_it(tmp_path: Path) -> None:
    """The mutated file differs on the mutant's line only."""
    root = _tree(tmp_path)
    mutant = next(
        m
        for m in generate.mutants_of(root, "service.limits", "service/limits.py")
        if m.id == "service.limits:7:swap_op:1"
    )
    mutated = generate.apply(root, mutant)
    assert "count <= LIMIT and flag" in mutated
    diff = generate.diff(root, mutant, mutated)
    assert "-    return count < LIMIT and flag" in diff
    assert "+    return count <= LIMIT and flag" in diff


def test_apply_refuses_a_moved_id_and_code_that_does_not_compile(tmp_path: Path) -> None:
    """An id that now names another change, or a mutant Python rejects, is not applied."""
    root = _tree(tmp_path)
    mutant = generate.mutants_of(root, "service.limits", "service/limits.py")[0]
    moved = generate.Mutant(**{**mutant.__dict__, "fingerprint": "0" * 12})
    with pytest.raises(ValueError, match="another change"):
        generate.apply(root, moved)
    (root / "service/loop.py").write_text("for x in range(3):\n    break\n")
    broken = generate.mutants_of(root, "service.loop", "service/loop.py")
    to_return = next(m for m in broken if m.operator == "keywords")  # break -> return
    with pytest.raises(ValueError, match="does not compile"):
        generate.apply(root, to_return)
