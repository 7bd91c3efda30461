"""Markers: checklist ids give tests their preflight/category/phase markers; bad ids refuse."""

from __future__ import annotations

import pytest

from tests.support.suite_runs import RunSuite

CHECKS = """
import pytest

@pytest.mark.checklist("auth.invalid-key-401")
def test_security():
    pass

@pytest.mark.checklist("health.endpoints-ok")
def test_functional():
    pass

@pytest.mark.checklist("post5m.services-running")
def test_post5m():
    pass

def test_not_a_check():
    pass
"""


@pytest.mark.parametrize(
    ("expression", "selected"),
    [
        ("security", ["test_security"]),
        ("functional and predeploy", ["test_functional"]),
        ("postdeploy_5m", ["test_post5m"]),
        ("preflight", ["test_functional", "test_post5m", "test_security"]),
        ("not preflight", ["test_not_a_check"]),
    ],
)
def test_markers_select_checks(
    pytester: pytest.Pytester, run_suite: RunSuite, expression: str, selected: list[str]
) -> None:
    """-m sees the markers derived from checklist.yaml."""
    pytester.makepyfile(test_marks=CHECKS)
    run = run_suite("-v", "-m", expression)
    passed = [line.split("::")[1].split()[0] for line in run.result.outlines if " PASSED" in line]
    assert sorted(passed) == selected


def test_phase_marker_matches_item(pytester: pytest.Pytester) -> None:
    """Collected items carry preflight, category and phase markers."""
    pytester.makepyfile(test_marks=CHECKS)
    items, _ = pytester.inline_genitems(
        "-p", "acceptance.harness.plugin", "--target", "https://x.invalid"
    )
    marks = {item.name: {m.name for m in item.iter_markers()} for item in items}
    assert {"preflight", "security", "predeploy", "checklist"} <= marks["test_security"]
    assert {"preflight", "functional", "postdeploy_5m"} <= marks["test_post5m"]
    assert "preflight" not in marks["test_not_a_check"]


def test_unknown_id_is_usage_error(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A misspelt id names the id and the test and stops the run."""
    pytester.makepyfile(
        test_typo="""
import pytest

@pytest.mark.checklist("health.endpoint-ok")
def test_typo():
    pass
"""
    )
    run = run_suite()
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(
        ["*unknown checklist id 'health.endpoint-ok' in test_typo.py::test_typo*"]
    )


def test_checklist_marker_without_ids_is_usage_error(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """An empty checklist marker ties the test to nothing: refused."""
    pytester.makepyfile(
        test_empty="""
import pytest

@pytest.mark.checklist()
def test_empty():
    pass
"""
    )
    assert run_suite().ret == pytest.ExitCode.USAGE_ERROR


DESTRUCTIVE = """
import pytest

@pytest.mark.destructive
@pytest.mark.checklist("queue.length-limits")
def test_fill_queue():
    pass
"""


def test_destructive_needs_permission(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """Against a target the suite did not boot, destructive checks are not verified."""
    pytester.makepyfile(test_destroy=DESTRUCTIVE)
    item = run_suite().item("queue.length-limits")
    assert item["verdict"] == "not_verified"
    assert item["reason"] == "destructive checks not allowed (use --allow-destructive)"


def test_destructive_runs_when_allowed(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """--allow-destructive lets them run."""
    pytester.makepyfile(test_destroy=DESTRUCTIVE)
    assert run_suite("--allow-destructive").item("queue.length-limits")["verdict"] == "pass"


def test_destructive_runs_against_booted_stack(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """Without --target/--stack the suite boots the stack, so destructive checks may run.

    The check does not request ``target``, so nothing is booted in this test.
    """
    pytester.makepyfile(test_destroy=DESTRUCTIVE)
    run = run_suite(target=False)
    assert run.item("queue.length-limits")["verdict"] == "pass"
    assert run.checklist["target"]["url"] is None


@pytest.mark.parametrize(
    ("args", "imported"),
    [
        (("-m", "preflight"), False),
        (("-m", "preflight and security"), False),
        (("--checklist-id", "config.tls"), False),
        (("-m", "not preflight"), True),
        (("-m", "preflight or slow"), True),
        (("own_tests",), True),  # a path given: collected as asked
    ],
)
def test_own_tests_left_unimported_when_only_checks_run(
    pytester: pytest.Pytester, run_suite: RunSuite, args: tuple[str, ...], imported: bool
) -> None:
    """With testpaths and a selection only checks satisfy, directories without checks stay out."""
    pytester.makeini("[pytest]\ntestpaths = own_tests\n")
    pytester.mkdir("own_tests")
    pytester.makepyfile(**{"own_tests/test_own": "raise RuntimeError('imported')"})
    run = run_suite(*args)
    assert ("RuntimeError: imported" in run.result.stdout.str()) is imported
