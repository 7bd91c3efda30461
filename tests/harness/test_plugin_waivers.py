"""Waivers from preflight.toml: valid ones waive, expired ones fail, unknown ids refuse."""

from __future__ import annotations

import datetime as dt

import pytest

from acceptance.harness.exitcodes import BAD_INPUT, BLOCKED
from tests.support.suite_runs import RunSuite

FAILING = """
import pytest

@pytest.mark.checklist("latency.ttft")
def test_ttft():
    assert False, "ttft p95 900 ms over 500 ms"
"""


def _waiver(pytester: pytest.Pytester, item_id: str, expires: dt.date) -> None:
    pytester.makefile(
        ".toml",
        preflight=f'''
[[waivers]]
id = "{item_id}"
reason = "tracked in PLAT-123"
owner = "jane.doe"
expires = {expires.isoformat()}
''',
    )


def test_valid_waiver_waives_failure(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A failing item with a current waiver is "waived"; the reason names owner and expiry."""
    pytester.makepyfile(test_perf=FAILING)
    expires = dt.date.today() + dt.timedelta(days=7)
    _waiver(pytester, "latency.ttft", expires)
    run = run_suite()
    item = run.item("latency.ttft")
    assert item["verdict"] == "waived"
    assert "jane.doe" in item["reason"] and expires.isoformat() in item["reason"]
    assert "tracked in PLAT-123" in item["reason"] and "ttft p95 900 ms" in item["reason"]
    assert run.checklist["verdict"] != "blocked"
    assert f"— WAIVED (high): waived by jane.doe until {expires.isoformat()}" in run.markdown
    # pytest itself saw a failed test; the gate accepts the waiver: the run exits 0.
    assert run.ret == 0


def test_waiver_valid_through_its_last_day(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """``expires`` is inclusive: a waiver expiring today still applies."""
    pytester.makepyfile(test_perf=FAILING)
    _waiver(pytester, "latency.ttft", dt.date.today())
    assert run_suite().item("latency.ttft")["verdict"] == "waived"


def test_expired_waiver_fails(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """An expired waiver leaves the item failing with "waiver expired on ..."; exit non-zero."""
    pytester.makepyfile(test_perf=FAILING)
    expired = dt.date.today() - dt.timedelta(days=1)
    _waiver(pytester, "latency.ttft", expired)
    run = run_suite()
    item = run.item("latency.ttft")
    assert item["verdict"] == "fail"
    assert item["reason"].startswith(f"waiver expired on {expired.isoformat()}")
    assert run.checklist["verdict"] == "blocked"
    assert run.ret == BLOCKED


def test_waiver_for_unknown_id_is_bad_input(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A typo in a waiver id must not silently waive nothing: one line, the file, the fix."""
    pytester.makepyfile(test_perf=FAILING)
    _waiver(pytester, "latency.tfft", dt.date.today())
    run = run_suite(subprocess=True)
    assert run.ret == BAD_INPUT
    assert run.result.stderr.lines[-1] == (
        f"Exit: preflight: {pytester.path / 'preflight.toml'}: waiver for unknown checklist id "
        "'latency.tfft': fix the id (did you mean 'latency.ttft'?) or remove the waiver"
    )
    assert not run.report_dir.exists()


def test_invalid_config_is_usage_error(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """Unknown keys in preflight.toml are refused, naming the key."""
    pytester.makepyfile(test_perf=FAILING)
    pytester.makefile(".toml", preflight="http_timeot_s = 3\n")
    run = run_suite(subprocess=True)
    assert run.ret == BAD_INPUT
    run.result.stderr.fnmatch_lines(["*invalid preflight configuration*", "*http_timeot_s*"])


def test_explicit_missing_config_is_usage_error(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """--preflight-config naming a missing file is an error; the default file is optional."""
    pytester.makepyfile(test_perf=FAILING)
    run = run_suite("--preflight-config", "nope.toml", subprocess=True)
    assert run.ret == BAD_INPUT
