"""Verdicts: how each way a check can end lands on its checklist item, and how items aggregate."""

from __future__ import annotations

import pytest

from acceptance.harness.exitcodes import BLOCKED
from tests.support.suite_runs import RunSuite

ENDINGS = """
import pytest
from acceptance.harness.verdicts import needs_confirmation, not_verified

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

@pytest.mark.checklist("health.endpoints-ok")
def test_pass(evidence):
    evidence.add(latency_ms=3.5)

@pytest.mark.checklist("health.queue-depths")
def test_fail(evidence):
    evidence.add(depth=5)
    assert 5 < 1, "hot depth 5 over 1"

@pytest.mark.checklist("health.workers")
def test_not_verified():
    not_verified("no log access")

@pytest.mark.checklist("readiness.release-notes")
def test_needs_confirmation():
    needs_confirmation("a person must read the notes")

@pytest.mark.checklist("health.database")
def test_plain_skip():
    pytest.skip("not today")

@pytest.mark.checklist("health.providers")
def test_fixture_error(broken):
    pass

@pytest.mark.checklist("config.cors")
@pytest.mark.xfail(reason="known broken")
def test_xfail():
    assert False
"""


def test_each_ending_maps_to_its_verdict(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """pass/fail/not_verified/needs_confirmation, a plain skip, a fixture error and an xfail."""
    pytester.makepyfile(test_endings=ENDINGS)
    run = run_suite()
    expected = {
        "health.endpoints-ok": ("pass", None),
        "health.queue-depths": ("fail", "AssertionError: hot depth 5 over 1"),
        "health.workers": ("not_verified", "no log access"),
        "readiness.release-notes": ("needs_confirmation", "a person must read the notes"),
        "health.database": ("not_verified", "skipped: not today"),
        "health.providers": ("fail", "error in setup: RuntimeError: fixture exploded"),
        "config.cors": ("fail", "xfail: known broken"),
    }
    for item_id, (verdict, reason) in expected.items():
        item = run.item(item_id)
        assert (item["verdict"], item["reason"]) == (verdict, reason), item_id
    assert run.item("health.endpoints-ok")["evidence"] == {"latency_ms": 3.5}
    assert run.item("health.queue-depths")["evidence"] == {"depth": 5}
    assert run.item("health.workers")["checks"] == ["test_endings.py::test_not_verified"]
    assert run.checklist["verdict"] == "blocked"
    assert run.ret == BLOCKED


AGGREGATION = """
import pytest
from acceptance.harness.verdicts import needs_confirmation, not_verified

@pytest.mark.checklist("health.endpoints-ok", "health.database")
def test_a(evidence):
    evidence.add(latency_ms=1, probes=3)

@pytest.mark.checklist("health.endpoints-ok")
def test_b(evidence):
    evidence.add(latency_ms=2)

@pytest.mark.checklist("health.database")
def test_c():
    not_verified("no datastore access")

@pytest.mark.checklist("health.database", "health.workers")
def test_d():
    needs_confirmation("look at it")

@pytest.mark.checklist("health.workers")
def test_e():
    pass
"""


def test_items_aggregate_worst_verdict(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """Worst wins (fail > not_verified > needs_confirmation > pass); evidence keys namespaced."""
    pytester.makepyfile(test_agg=AGGREGATION)
    run = run_suite()
    ok = run.item("health.endpoints-ok")
    assert ok["verdict"] == "pass" and ok["reason"] is None
    assert ok["checks"] == ["test_agg.py::test_a", "test_agg.py::test_b"]
    assert ok["evidence"] == {"test_a.latency_ms": 1, "probes": 3, "test_b.latency_ms": 2}
    database = run.item("health.database")
    assert database["verdict"] == "not_verified"
    assert database["reason"] == "test_c: no datastore access"
    workers = run.item("health.workers")
    assert (workers["verdict"], workers["reason"]) == ("needs_confirmation", "test_d: look at it")
    assert run.checklist["verdict"] == "ready_with_unverified"
    assert run.ret == 0


def test_uncovered_items_say_why(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """An item with a deselected check is "not selected"; one without any check is "no check"."""
    pytester.makepyfile(test_agg=AGGREGATION)
    run = run_suite("-k", "test_e")
    assert run.item("health.endpoints-ok")["reason"] == "not selected"
    assert run.item("health.endpoints-ok")["checks"] == []
    assert run.item("config.tls")["reason"] == "no check"
    assert run.item("health.workers")["verdict"] == "pass"


def test_all_ready_when_everything_passes(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """Exit code 0 and no fail verdict when every selected check passes."""
    pytester.makepyfile(
        test_ok="""
import pytest

@pytest.mark.checklist("health.endpoints-ok")
def test_ok():
    pass
"""
    )
    run = run_suite()
    assert run.ret == 0
    assert run.checklist["verdict"] == "ready_with_unverified"  # 108 items have no check


def test_failing_item_fails_the_run(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A failing check blocks the release: exit code 100, not pytest's 1."""
    pytester.makepyfile(
        test_bad="""
import pytest

@pytest.mark.checklist("health.endpoints-ok")
def test_bad():
    assert False
"""
    )
    assert run_suite().ret == BLOCKED


def test_selected_but_not_run(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """-x stops the session: the items of checks that never ran say so."""
    pytester.makepyfile(
        test_stop="""
import pytest

@pytest.mark.checklist("health.endpoints-ok")
def test_first():
    assert False

@pytest.mark.checklist("health.database")
def test_second():
    pass
"""
    )
    run = run_suite("-x")
    assert run.item("health.database")["reason"] == "not run (session stopped early)"


def test_collect_only_writes_nothing(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """--collect-only runs no check, so there is nothing to report."""
    pytester.makepyfile(test_agg=AGGREGATION)
    run = run_suite("--collect-only")
    assert not run.report_dir.exists()
