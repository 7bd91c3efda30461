"""Phases: a run that covers several release phases does them in release order, and a session
that ran the predeploy latency check is the baseline of post1h.performance-stable."""

from __future__ import annotations

import pytest

from tests.support.suite_runs import RunSuite

# Written in the order a directory listing gives (post_24h before response_times ...).
OUT_OF_ORDER = """
import pytest

@pytest.mark.checklist("post24h.stability")
def test_post24h():
    pass

@pytest.mark.checklist("post1h.error-rates")
def test_post1h():
    pass

@pytest.mark.checklist("post5m.health")
def test_post5m():
    pass

@pytest.mark.checklist("latency.api")
def test_predeploy():
    pass
"""

SESSION_BASELINE = """
import pytest
from acceptance.post1h.test_short_term import _baseline_evidence

@pytest.mark.checklist("post1h.error-rates")
def test_reads_session_baseline(request, config, evidence):
    found = _baseline_evidence(request, config)
    assert found is not None, "no session baseline"
    source, api, ttft = found
    assert "this session" in source
    assert api["p95_ms"] == {"health": 1.5}
    assert ttft == {}

@pytest.mark.checklist("latency.api")
def test_latency_api(evidence):
    evidence.add(p95_ms={"health": 1.5})
"""


def test_checks_run_in_phase_order(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """predeploy, then postdeploy_5m, 1h and 24h, whatever the file order."""
    pytester.makepyfile(test_phases=OUT_OF_ORDER)
    run = run_suite("-v")
    ran = [line.split("::")[1].split()[0] for line in run.result.outlines if " PASSED" in line]
    assert ran == ["test_predeploy", "test_post5m", "test_post1h", "test_post24h"]


def test_session_figures_are_the_baseline(pytester: pytest.Pytester, run_suite: RunSuite) -> None:
    """Without --baseline, the latency.api evidence recorded earlier in the session is used."""
    pytester.makepyfile(test_session=SESSION_BASELINE)
    run = run_suite()
    assert run.item("post1h.error-rates")["verdict"] == "pass", run.result.outlines[-20:]
