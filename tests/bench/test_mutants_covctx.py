"""The coverage label follower, in a real child process measured by coverage.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.waiting import poll_until

coverage = pytest.importorskip("coverage", reason="the mutation bench needs the bench extra")

REPO = Path(__file__).resolve().parents[2]
# Generous bounds: the child and its follower thread share a loaded 2-core machine.
STEP_TIMEOUT_S = 30.0
CHILD = """
import sys, time
from pathlib import Path

def during_a():
    return 1

def during_b():
    return 2

label, ack = Path(sys.argv[1]), Path(sys.argv[2])
deadline = time.monotonic() + 60
seen, done = "", set()
while time.monotonic() < deadline and seen != "END":
    seen = label.read_text()
    if seen in ("A", "B") and seen not in done:
        done.add(seen)
        # Work under the label for a while: the follower polls every 50 ms.
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            (during_a if seen == "A" else during_b)()
        ack.write_text(seen)
    time.sleep(0.01)  # the child's own poll interval
"""


def _wait_for(path: Path, text: str, child: subprocess.Popen[bytes]) -> None:
    poll_until(
        lambda: path.exists() and path.read_text() == text,
        timeout=STEP_TIMEOUT_S,
        interval=0.02,
        message=f"the child to acknowledge {text}",
        abort=lambda: None if child.poll() is None else "the child exited early",
    )


def test_lines_are_labelled_with_the_label_of_their_time(tmp_path: Path) -> None:
    """What runs while the label file says A is recorded under context A, likewise B; nothing
    of B's comes before B."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "child.py").write_text(CHILD)
    label, ack, data = tmp_path / "label", tmp_path / "ack", tmp_path / "data"
    data.mkdir()
    label.write_text("(boot)")
    rc = tmp_path / "rc"
    rc.write_text(
        f"[run]\nparallel = true\ndata_file = {data / '.coverage'}\n"
        f"source = {tmp_path / 'pkg'}\nplugins = bench.mutants.covctx\n"
        f"[bench.mutants.covctx]\nlabel_file = {label}\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "COVERAGE_PROCESS_START": str(rc)}
    child = subprocess.Popen(
        [sys.executable, str(tmp_path / "pkg" / "child.py"), str(label), str(ack)], env=env
    )
    try:
        for step in ("A", "B"):
            label.write_text(step)
            _wait_for(ack, step, child)
        label.write_text("END")
        assert child.wait(STEP_TIMEOUT_S) == 0
    finally:
        if child.poll() is None:
            child.kill()
    cov = coverage.Coverage(data_file=str(data / ".coverage"), config_file=False)
    cov.combine([str(data)])
    contexts = cov.get_data().contexts_by_lineno(str(tmp_path / "pkg" / "child.py"))
    body_a, body_b = 6, 9  # `return 1`, `return 2` in CHILD
    assert "A" in contexts[body_a] and "B" not in contexts[body_a]
    # The first calls under B may land under A (the follower polls): the map therefore counts
    # a line for the neighbouring checks too.
    assert "B" in contexts[body_b]
