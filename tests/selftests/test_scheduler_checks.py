"""post24h.scheduled-jobs fails on stacks whose scheduled jobs do not run properly.

Two faults an operator could really make: the scheduler switched off (no backup, no purge ever
runs), and a backup directory that cannot be written (every backup fails) together with a purge
configured to run once a month where the policy asks for daily. Each boots its own stack; the
check must end ``fail`` and say why. The check is tagged ``since("0.2.0")``, so with it selected
post1h.new-functionality ("the new functionality works") fails with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.stack import StackOptions, running_stack
from tests.selftests.broken import failed, run_checks

IDS = ["post24h.scheduled-jobs"]
NEW_FUNCTIONALITY = "post1h.new-functionality"
MONTH_S = str(30 * 86_400)  # the longest period the settings accept


def _overrides(case: str, tmp_path: Path) -> dict[str, str]:
    if case == "scheduler disabled":
        return {"scheduler_enabled": "false"}
    blocker = tmp_path / "backup-volume"  # a file where the backup directory should be
    blocker.write_text("")
    return {"backup_dir": str(blocker / "backups"), "retention_purge_period_s": MONTH_S}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", ["scheduler disabled", "backup unwritable, purge monthly"])
def test_scheduled_jobs_check_fails(case: str, tmp_path: Path) -> None:
    """The item fails, naming the schedules that are off, failing or too rare."""
    options = StackOptions(
        workers=1, overrides=_overrides(case, tmp_path), directory=tmp_path / "stack"
    )
    ids = [*IDS, NEW_FUNCTIONALITY] if case == "scheduler disabled" else IDS
    with running_stack(options) as stack:
        items = run_checks(stack.info.stack_json, ids, tmp_path)
    assert not failed(items, ids), failed(items, ids)
    problems = items[IDS[0]]["evidence"]["problems"]
    if case == "scheduler disabled":
        assert problems["backup"] == ["disabled on the target (scheduler_enabled is false)"]
        assert "retention_purge" in problems, problems
        decided_by = items[NEW_FUNCTIONALITY]["checks"]
        assert any("test_scheduled_jobs" in c for c in decided_by), decided_by
    else:
        assert "NotADirectoryError" in problems["backup"][0], problems
        assert any(f"every {MONTH_S} s" in p for p in problems["retention_purge"]), problems
