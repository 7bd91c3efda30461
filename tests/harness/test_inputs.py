"""Bad input is refused before any check runs: one line naming the file and the fix, exit code 2.

The inner runs are subprocesses: the refusal ends pytest in ``pytest_configure`` with
``pytest.exit``, which pytester's in-process runner cannot report. Each run carries a check that
would leave a trace if it ran, and none names a target: had the checks run, the reference stack
would have been booted.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from acceptance.harness.checklist import load_checklist
from acceptance.harness.exitcodes import BAD_INPUT, BLOCKED
from tests.support.suite_runs import RunSuite, SuiteRun

TRACE = "check-ran.txt"
CHECK = f"""
import pytest
from pathlib import Path

@pytest.mark.checklist("config.tls")
def test_tls(target):
    Path({TRACE!r}).write_text("ran")
    assert False, "certificate expired"
"""


def _refused(pytester: pytest.Pytester, run: SuiteRun, *parts: str) -> str:
    """The run ended with exit code 2 before anything ran; its one line, with ``parts`` in it."""
    assert run.ret == BAD_INPUT, run.result.stdout.str() + run.result.stderr.str()
    (line,) = [ln for ln in run.result.stderr.lines if ln.strip()]
    assert line.startswith("Exit: preflight: ")
    for part in parts:
        assert part in line
    assert not (pytester.path / TRACE).exists()
    assert not run.report_dir.exists()
    return line


def _baseline(path: Path, **changes: object) -> Path:
    items = [{"id": i, "verdict": "pass"} for i in load_checklist().ids]
    path.write_text(json.dumps({"schema": 1, "verdict": "ready", "items": items, **changes}))
    return path


def _waiver(pytester: pytest.Pytester, item_id: str, extra: str = "") -> None:
    expires = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    pytester.makefile(
        ".toml",
        preflight=f'[[waivers]]\nid = "{item_id}"\nreason = "PLAT-9"\nowner = "jane.doe"\n'
        f"expires = {expires}\n{extra}",
    )


def test_report_dir_under_a_file(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A report directory that cannot be made (a file is in the way) is refused."""
    pytester.makepyfile(test_tls=CHECK)
    (pytester.path / "reports").write_text("a file, not a directory")
    run = run_suite("--report-dir", "reports/gate", target=False, subprocess=True)
    _refused(pytester, run, f"--report-dir {pytester.path / 'reports' / 'gate'}", "is a file")


def test_report_dir_is_a_file(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """An existing file given as the report directory is refused, with the fix."""
    pytester.makepyfile(test_tls=CHECK)
    (pytester.path / "out.json").write_text("{}")
    run = run_suite("--report-dir", "out.json", target=False, subprocess=True)
    _refused(pytester, run, "out.json", "choose another --report-dir")


def test_baseline_of_another_schema(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A checklist.json of schema 2 is refused, naming the file and the schema this one reads."""
    pytester.makepyfile(test_tls=CHECK)
    path = _baseline(pytester.path / "old.json", schema=2)
    run = run_suite("--baseline", "old.json", target=False, subprocess=True)
    _refused(pytester, run, f"--baseline {path}", "schema 2", "reads schema 1")


def test_baseline_of_another_checklist(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A report whose ids are not this checklist's is refused instead of comparing nothing."""
    pytester.makepyfile(test_tls=CHECK)
    other = {"schema": 1, "items": [{"id": "cis.1.1.1", "verdict": "pass"}]}
    (pytester.path / "other.json").write_text(json.dumps(other))
    run = run_suite("--baseline", "other.json", target=False, subprocess=True)
    _refused(pytester, run, "other.json", "another checklist", "'cis.1.1.1'")


def test_baseline_not_json(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A baseline that is not JSON at all is refused (from [report] previous_run too)."""
    pytester.makepyfile(test_tls=CHECK)
    (pytester.path / "junit.xml").write_text("<testsuites/>")
    pytester.makefile(".toml", preflight='[report]\nprevious_run = "junit.xml"\n')
    run = run_suite(target=False, subprocess=True)
    _refused(pytester, run, "previous_run", "junit.xml", "not a readable checklist.json")


def test_baseline_of_an_older_checklist_is_accepted(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """Fewer boxes than today (an earlier version of this checklist) still compare."""
    pytester.makepyfile(test_tls=CHECK)
    path = _baseline(pytester.path / "prev.json")
    document = json.loads(path.read_text())
    document["items"] = document["items"][:50]
    path.write_text(json.dumps(document))
    run = run_suite("--baseline", "prev.json")
    assert run.ret == BLOCKED
    assert run.checklist["baseline"]["new_failures"] == ["config.tls"]


def test_critical_waiver_without_approver(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """config.tls is critical: its waiver needs approved_by."""
    pytester.makepyfile(test_tls=CHECK)
    _waiver(pytester, "config.tls")
    run = run_suite(target=False, subprocess=True)
    line = _refused(pytester, run, str(pytester.path / "preflight.toml"), "'config.tls'")
    assert "impact critical" in line and "add approved_by" in line


def test_critical_waiver_approved_by_its_owner(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """The second approver must be a second person."""
    pytester.makepyfile(test_tls=CHECK)
    _waiver(pytester, "config.tls", 'approved_by = "Jane.Doe"\n')
    run = run_suite(target=False, subprocess=True)
    _refused(pytester, run, "approved by its owner", "must name a second person")


def test_critical_waiver_with_second_approver(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """With a second approver the critical item is waived, and the reason names both people."""
    pytester.makepyfile(test_tls=CHECK)
    _waiver(pytester, "config.tls", 'approved_by = "sam.lee"\n')
    run = run_suite()
    item = run.item("config.tls")
    assert item["verdict"] == "waived" and item["impact"] == "critical"
    assert item["reason"].startswith("waived by jane.doe (approved by sam.lee) until ")
    assert run.ret == 0


def test_waiver_of_unknown_id_without_close_match(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """No near id: the fix points at the checklist file."""
    pytester.makepyfile(test_tls=CHECK)
    _waiver(pytester, "zzz")
    run = run_suite(target=False, subprocess=True)
    _refused(pytester, run, "unknown checklist id 'zzz'", "ids: acceptance/checklist.yaml")


def test_trace_missing_a_field_is_refused(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """A [workload] trace line missing a field is refused at start, naming the file and line:
    the load checks would otherwise discover it after the stack booted."""
    pytester.makepyfile(test_tls=CHECK)
    lines = ['{"offset_ms": 0, "input_tokens": 20, "output_tokens": 4}', '{"offset_ms": 5}']
    (pytester.path / "day1.jsonl").write_text("\n".join(lines) + "\n")
    pytester.makefile(".toml", preflight='[workload]\ntrace = "day1.jsonl"\n')
    run = run_suite(target=False, subprocess=True)
    _refused(pytester, run, "[workload]", "day1.jsonl:2", "input_tokens")
