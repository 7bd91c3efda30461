"""A reference stack booted from a copy of this checkout with one release defect written into it.

Some defects a careless release makes cannot be set up by configuration (a refusal that lost its
error code, a lock that is no longer taken): the mutation bench found them surviving the gate
(bench/README.md, "Mutation bench"). A self-test for the check that now catches one boots the
platform from a copy holding exactly that change, the way the bench does (bench/mutants/stack),
and runs the release checks of this checkout against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.mutants.stack import booted_stack, child_env, copy_checkout
from tests.selftests.broken import REPO_ROOT

BOOT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Defect:
    """One line of ``path`` changed: ``old`` (which must occur exactly once) becomes ``new``."""

    path: str
    old: str
    new: str


@contextmanager
def defective_stack(defects: Defect | tuple[Defect, ...], workdir: Path) -> Iterator[Path]:
    """stack.json of a stack running a copy of the checkout with ``defects`` in it (several only
    where each breaks a different box, so that one boot shows each of them caught)."""
    checkout = workdir / "checkout"
    copy_checkout(REPO_ROOT, checkout)
    for defect in defects if isinstance(defects, tuple) else (defects,):
        source = checkout / defect.path
        text = source.read_text()
        assert text.count(defect.old) == 1, (
            f"{defect.path}: {defect.old!r} must occur once (the code moved: update the self-test)"
        )
        source.write_text(text.replace(defect.old, defect.new))
    with booted_stack(
        checkout, workdir, timeout_s=BOOT_TIMEOUT_S, env=child_env(checkout)
    ) as booted:
        yield booted.stack_json
