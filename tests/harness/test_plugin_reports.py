"""The report contract: checklist.json, checklist.md, report.html, JUnit; only for checks."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from tests.support.suite_runs import FAKE_TARGET, RunSuite

CHECKLIST_YAML = Path(__file__).parents[2] / "acceptance" / "checklist.yaml"
CHECKS = """
import pytest
from acceptance.harness.verdicts import not_verified

@pytest.mark.checklist("health.endpoints-ok")
def test_pass(evidence):
    evidence.add(ttft_p95_ms=412.5)

@pytest.mark.checklist("config.tls")
def test_fail(evidence):
    evidence.add(days_to_expiry=3)
    assert False, "certificate expires in 3 days"

@pytest.mark.checklist("logging.access-detail")
def test_nv():
    not_verified("no log access")
"""


def _ids() -> list[str]:
    return [item["id"] for item in yaml.safe_load(CHECKLIST_YAML.read_text())["items"]]


def test_checklist_json_contract(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """schema 1, verdict, target, timestamps, phase and all 109 items in checklist order."""
    pytester.makepyfile(test_checks=CHECKS)
    data = run_suite("--phase", "postdeploy_1h").checklist
    assert set(data) == {"schema", "verdict", "target", "started", "finished", "phase", "items"}
    assert data["schema"] == 1
    assert data["verdict"] == "blocked"
    assert data["phase"] == "postdeploy_1h"
    assert data["target"] == {
        "url": FAKE_TARGET,
        "version": None,
        "commit": None,
        "environment": None,
    }
    started = dt.datetime.fromisoformat(data["started"])
    assert started.utcoffset() == dt.timedelta(0)
    assert dt.datetime.fromisoformat(data["finished"]) >= started
    assert [item["id"] for item in data["items"]] == _ids()
    assert len(data["items"]) == 109
    for item in data["items"]:
        assert set(item) == {
            "id",
            "section",
            "text",
            "impact",
            "verdict",
            "reason",
            "evidence",
            "checks",
        }
        assert item["impact"] in {"critical", "high", "medium", "low"}
        assert item["verdict"] in {"pass", "fail", "waived", "not_verified", "needs_confirmation"}
        assert (item["reason"] is None) == (item["verdict"] == "pass")
    tls = next(i for i in data["items"] if i["id"] == "config.tls")
    assert tls["section"] == "Configuration"
    assert tls["impact"] == "critical"
    assert tls["evidence"] == {"days_to_expiry": 3}
    assert tls["checks"] == ["test_checks.py::test_fail"]


def test_checklist_markdown(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """The release checklist's headings and wording, boxes ticked, open boxes annotated."""
    pytester.makepyfile(test_checks=CHECKS)
    text = run_suite().markdown
    lines = text.splitlines()
    assert lines[0] == "# Pre-Flight Checklist for Releases"
    assert "**Verdict: BLOCKED** (109 items: 1 pass, 1 fail, 0 waived, 107 not verified" in text
    assert "- [x] All API endpoints return 200 OK for health checks" in lines
    assert (
        "- [ ] TLS certificates are valid and not expired — FAIL (critical): "
        "AssertionError: certificate expires in 3 days"
    ) in lines
    assert any(line.endswith("— NOT VERIFIED (low): no log access") for line in lines)
    assert (
        "- [ ] `GET /health` returns complete system status — NOT VERIFIED (medium): no check"
    ) in lines
    assert sum(1 for line in lines if re.match(r"- \[[ x]\] ", line)) == 109
    assert "## Pre-Deployment Verification" in lines and "### System Health" in lines
    assert "### Immediate Checks (Within 5 minutes)" in lines
    assert "## Sign-off" in lines
    assert "**Release Manager:** _________________ **Date:** _________" in lines
    assert "**Operations Lead:** _________________ **Date:** _________" in lines


def test_report_html_has_summary_and_evidence(
    pytester: pytest.Pytester, run_suite: RunSuite
) -> None:
    """report.html is self-contained and starts with the checklist summary."""
    pytester.makepyfile(test_checks=CHECKS)
    run = run_suite()
    html = (run.report_dir / "report.html").read_text()
    assert 'id="preflight-checklist"' in html
    assert "Verdict: BLOCKED" in html
    assert "health.endpoints-ok" in html and "config.tls" in html
    assert '<link rel="stylesheet"' not in html  # self-contained: styles inline
    assert "ttft_p95_ms" in html  # evidence in the extras (in the embedded test data)


def test_user_html_path_gets_summary(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """--html given by the user: pytest-html writes there, with our summary, and no second copy."""
    pytester.makepyfile(test_checks=CHECKS)
    run = run_suite("--html", "mine/report.html")
    assert 'id="preflight-checklist"' in (pytester.path / "mine" / "report.html").read_text()
    assert not (run.report_dir / "report.html").exists()


def test_junit_when_asked(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """--junitxml is pytest's own; the verdict travels as a property."""
    pytester.makepyfile(test_checks=CHECKS)
    run_suite("--junitxml", "preflight-report/junit.xml")
    junit = (pytester.path / "preflight-report" / "junit.xml").read_text()
    assert 'property name="preflight"' in junit


def test_report_dir_option(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """--report-dir puts all reports there."""
    pytester.makepyfile(test_checks=CHECKS)
    run_suite("--report-dir", "out/gate")
    names = {p.name for p in (pytester.path / "out" / "gate").iterdir()}
    assert {"checklist.json", "checklist.md", "report.html"} <= names


def test_reports_even_when_all_deselected(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """Checks were collected, none selected: every item is "not selected" or "no check"."""
    pytester.makepyfile(test_checks=CHECKS)
    run = run_suite("-m", "compliance")
    reasons = {item["reason"] for item in run.checklist["items"]}
    assert reasons == {"not selected", "no check"}
    assert (run.report_dir / "report.html").exists()


def test_no_reports_without_checks(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """`pytest tests` (no checklist checks) writes no reports and leaves no report directory."""
    pytester.makepyfile(test_unit="def test_unit():\n    pass\n")
    run = run_suite(target=False)
    assert run.ret == 0
    assert not run.report_dir.exists()
    run.result.stdout.no_fnmatch_line("*Generated html report*")
