"""Under xdist the controller gathers verdicts from the workers and writes the same reports."""

from __future__ import annotations

from typing import Any

import pytest

from acceptance.harness.exitcodes import BLOCKED
from tests.support.suite_runs import RunSuite

CHECKS = "\n".join(
    [
        "import pytest",
        "from acceptance.harness.verdicts import needs_confirmation, not_verified",
        "",
        '@pytest.mark.checklist("health.endpoints-ok", "health.database")',
        "def test_a(evidence):",
        "    evidence.add(latency_ms=1)",
        '@pytest.mark.checklist("health.endpoints-ok")',
        "def test_b(evidence):",
        "    evidence.add(latency_ms=2)",
        '@pytest.mark.checklist("config.tls")',
        "def test_c():",
        "    assert False, 'expired'",
        '@pytest.mark.checklist("health.workers")',
        "def test_d():",
        "    not_verified('no access')",
        '@pytest.mark.checklist("readiness.release-notes")',
        "def test_e():",
        "    needs_confirmation('read them')",
        '@pytest.mark.checklist("alerting.critical-configured")',
        "def test_deselected():",
        "    pass",
    ]
)


def _stable(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in ("started", "finished")}


def test_xdist_gives_the_same_checklist(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """-n 2 and a single process agree item for item (verdict, reason, evidence, checks)."""
    pytester.makepyfile(test_checks=CHECKS)
    serial = run_suite("-k", "not deselected", subprocess=True)
    serial_data = serial.checklist
    (serial.report_dir / "checklist.json").unlink()
    parallel = run_suite("-n", "2", "-k", "not deselected", subprocess=True)
    assert parallel.ret == serial.ret == BLOCKED
    assert _stable(parallel.checklist) == _stable(serial_data)
    assert parallel.item("alerting.critical-configured")["reason"] == "not selected"
    assert parallel.item("health.endpoints-ok")["evidence"] == {
        "test_a.latency_ms": 1,
        "test_b.latency_ms": 2,
    }
    assert 'id="preflight-checklist"' in (parallel.report_dir / "report.html").read_text()
