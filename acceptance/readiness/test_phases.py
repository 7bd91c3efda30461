"""Deployment Readiness: every post-deployment phase has checks to run.

A phase marker that selects nothing makes `pytest -m postdeploy_1h` a silent green no-op, so the
check counts, per phase, the checks this session collected (before -m or --checklist-id narrowed
the run) and the checklist boxes they cover.
"""

from __future__ import annotations

import pytest

from acceptance.harness.checklist import PHASES
from acceptance.harness.fixtures import Evidence
from acceptance.harness.runstate import RUN_STATE

POST_DEPLOY = tuple(phase for phase in PHASES if phase.startswith("postdeploy"))


@pytest.mark.checklist("readiness.post-deploy-defined")
def test_each_post_deploy_phase_selects_checks(
    pytestconfig: pytest.Config, evidence: Evidence
) -> None:
    """Each post-deployment phase marker selects at least one collected check."""
    state = pytestconfig.stash[RUN_STATE]
    checks = {phase: 0 for phase in POST_DEPLOY}
    boxes: dict[str, set[str]] = {phase: set() for phase in POST_DEPLOY}
    for ids in state.collected.values():
        for phase in {state.checklist[i].phase for i in ids} & set(POST_DEPLOY):
            checks[phase] += 1
            boxes[phase].update(i for i in ids if state.checklist[i].phase == phase)
    evidence.add(checks=checks, boxes={p: len(b) for p, b in boxes.items()})
    empty = [phase for phase, n in checks.items() if n == 0]
    assert not empty, f"post-deployment phases without checks in this collection: {empty}"
