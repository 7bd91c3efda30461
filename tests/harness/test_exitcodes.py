"""Exit codes a CI job gates on: 0 ready, 100 blocked, 101 unverified (when asked), pytest's own."""

from __future__ import annotations

import pytest

from acceptance.harness.checklist import load_checklist
from acceptance.harness.exitcodes import BLOCKED, READY, UNVERIFIED, gate_exit_code
from tests.support.suite_runs import RunSuite

ALL_IDS = ", ".join(repr(i) for i in load_checklist().ids)
# One check decides every box (ready); a second one decides one box only (for -k selections).
EVERY_BOX = f"""
import pytest

@pytest.mark.checklist({ALL_IDS})
def test_everything():
    pass

@pytest.mark.checklist("health.endpoints-ok")
def test_one_box():
    pass
"""
ONE_BOX = """
import pytest

@pytest.mark.checklist("health.endpoints-ok")
def test_health():
    pass
"""


def test_ready_exits_0(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """Every box passes: verdict ready, exit code 0, also with --fail-on-unverified."""
    pytester.makepyfile(test_all=EVERY_BOX)
    run = run_suite("--fail-on-unverified")
    assert run.checklist["verdict"] == "ready"
    assert run.ret == READY


def test_blocked_exits_100(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A failing box: verdict blocked, exit code 100 (never pytest's 1), and the summary says so."""
    pytester.makepyfile(test_bad=ONE_BOX.replace("pass", "assert False, 'health answers 503'"))
    run = run_suite()
    assert run.checklist["verdict"] == "blocked"
    assert run.ret == BLOCKED == 100
    run.result.stdout.fnmatch_lines(["preflight exit code 100: blocked: an item failed"])


def test_unverified_exits_0_by_default(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """ready_with_unverified passes a CI job unless it asks otherwise."""
    pytester.makepyfile(test_one=ONE_BOX)
    run = run_suite()
    assert run.checklist["verdict"] == "ready_with_unverified"
    assert run.ret == READY
    run.result.stdout.fnmatch_lines(["preflight exit code 0: ready_with_unverified (*101)"])


def test_fail_on_unverified_exits_101(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """--fail-on-unverified: a box without a verdict fails the run with 101."""
    pytester.makepyfile(test_one=ONE_BOX)
    run = run_suite("--fail-on-unverified")
    assert run.checklist["verdict"] == "ready_with_unverified"
    assert run.ret == UNVERIFIED == 101
    run.result.stdout.fnmatch_lines(["preflight exit code 101: ready_with_unverified, and *"])


def test_fail_on_unverified_from_config(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """[report] fail_on_unverified = true does what the option does."""
    pytester.makepyfile(test_one=ONE_BOX)
    pytester.makefile(".toml", preflight="[report]\nfail_on_unverified = true\n")
    assert run_suite().ret == UNVERIFIED


def test_unselected_boxes_do_not_count(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """Boxes a -k / -m / --checklist-id selection left out are not held against the run."""
    pytester.makepyfile(test_all=EVERY_BOX)
    run = run_suite("--fail-on-unverified", "-k", "test_one_box")
    assert run.item("config.tls")["reason"] == "not selected"
    assert run.checklist["verdict"] == "ready_with_unverified"
    assert run.ret == READY


def test_failed_test_that_is_no_check_exits_1(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """A failing test without a checklist marker decides no box but still fails the run."""
    pytester.makepyfile(test_one=ONE_BOX, test_unit="def test_unit():\n    assert False\n")
    run = run_suite()
    assert run.checklist["verdict"] == "ready_with_unverified"
    assert run.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize(
    "status",
    [
        pytest.ExitCode.INTERRUPTED,
        pytest.ExitCode.INTERNAL_ERROR,
        pytest.ExitCode.USAGE_ERROR,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ],
)
def test_unfinished_runs_keep_pytest_status(status: pytest.ExitCode) -> None:
    """A run that did not finish decides nothing: pytest's own status is kept."""
    assert gate_exit_code(status, [], fail_on_unverified=True, other_failures=False) == status
