"""The exit code of a preflight run: what a CI job gates on without reading checklist.json.

pytest's own codes are 0-5 (1 tests failed, 2 interrupted, 3 internal error, 4 usage error, 5 no
tests collected). The verdict codes sit far above them, like InSpec's 100 (a control failed) and
101 (controls skipped, none failed), so that a gate decision never reads as a pytest condition:

====  =====================================================================================
0     ready; also ready_with_unverified unless unverified items fail the run
100   blocked: an item failed (an expired waiver counts as failing)
101   ready_with_unverified with ``--fail-on-unverified`` / ``[report] fail_on_unverified``
1     no item failed, but a test that is not a check failed (pytest's code)
2     bad input (preflight.toml, a waiver, the baseline, the report directory), nothing ran;
      pytest also exits 2 when interrupted or when a check module cannot be imported
3-5   pytest's internal error, usage error (an unknown option), no tests collected
====  =====================================================================================

A waived failure is the gate accepting it: the run exits 0 although pytest saw a failed test.
"""

from __future__ import annotations

import pytest

from acceptance.harness.results import ItemResult, overall_verdict
from acceptance.harness.verdicts import Verdict

READY = 0
BLOCKED = 100
UNVERIFIED = 101
BAD_INPUT = 2
# "not selected": the run was not asked to verify the item (-m, -k, --checklist-id), so it does
# not count against --fail-on-unverified; "no check" does (the suite has a gap).
NOT_ASKED = "not selected"


def unverified(items: list[ItemResult]) -> list[ItemResult]:
    """Items this run was asked to verify and could not."""
    return [i for i in items if i.verdict is Verdict.NOT_VERIFIED and i.reason != NOT_ASKED]


def gate_exit_code(
    pytest_status: int,
    items: list[ItemResult],
    *,
    fail_on_unverified: bool,
    other_failures: bool,
) -> int:
    """The run's exit code from pytest's status and the items' verdicts.

    pytest's statuses other than "all passed" and "tests failed" (interrupted, internal or
    usage error, nothing collected) are kept: the run did not finish, its verdict decides
    nothing.
    """
    if pytest_status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return pytest_status
    if overall_verdict(items) == "blocked":
        return BLOCKED
    if other_failures:
        return int(pytest.ExitCode.TESTS_FAILED)
    if fail_on_unverified and unverified(items):
        return UNVERIFIED
    return READY


def describe(code: int, items: list[ItemResult]) -> str:
    """A few words for the terminal summary."""
    if code == READY and unverified(items):
        return "ready_with_unverified (--fail-on-unverified would exit 101)"
    return {
        READY: "ready",
        BLOCKED: "blocked: an item failed",
        UNVERIFIED: "ready_with_unverified, and --fail-on-unverified",
        int(pytest.ExitCode.TESTS_FAILED): "a test that is no check failed",
    }.get(code, "pytest's own status")
