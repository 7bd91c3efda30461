"""Load Testing: the declared workload at its rate, and the capacity above it.

load.concurrent-users is judged twice: here on the LLM traffic the release declares
(``[workload]`` at its ``rate``, open loop: the run the latency boxes judge), and in
``test_users_and_queues.py`` on the API's other endpoints under ``[performance] users``. Open
loop, "concurrent users" are arrivals per second: how many are in flight follows from how fast
the target answers (Little's law, ``concurrency_mean``), as in production. The capacity (the
highest rate meeting the SLO, ``acceptance/support/capacity.py``) must reach ``[workload]
expected_rate``; post1h.performance-stable compares it with the baseline.
"""

from __future__ import annotations

import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.capacity import capacity_evidence, gate_capacity
from acceptance.support.declared_load import declared_run


@pytest.mark.checklist("load.concurrent-users")
def test_declared_workload_and_capacity(
    pytestconfig: pytest.Config, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """At the declared rate, goodput and errors within [slo]; the capacity found above it at
    least ``expected_rate``."""
    declared = declared_run(pytestconfig, target, config)
    if isinstance(declared, str):
        not_verified(declared)
    slo, report, workload = config.slo, declared.report, declared.workload
    summary = report.summary
    if summary is None:
        not_verified(f"the run at {workload.rate:g} requests/s is invalid: {report.invalid_reason}")
    counted = [r for r in declared.run.records if not r.get("warmup")]
    busy_s = sum(float(r["e2e_ms"]) for r in counted) / 1000
    evidence.add(
        workload_rate=workload.rate,
        workload_arrival=workload.arrival,
        workload_achieved_rate=report.achieved_rate,
        workload_requests=summary.requests,
        workload_errors=summary.errors,
        workload_error_share=round(summary.error_rate, 4),
        workload_goodput=summary.goodput,
        concurrency_mean=round(busy_s / report.window_s, 2) if report.window_s else None,
        goodput_min=slo.goodput_min,
        expected_rate=config.workload.expected_rate,
    )
    result = gate_capacity(declared, slo)
    evidence.add(**capacity_evidence(result, slo))
    assert summary.error_rate <= slo.error_rate_max, (
        f"{summary.errors}/{summary.requests} requests failed at {workload.rate:g} requests/s"
    )
    assert summary.goodput is not None and summary.goodput >= slo.goodput_min, (
        f"goodput {summary.goodput} < {slo.goodput_min} at the declared {workload.rate:g} "
        "requests/s"
    )
    capacity, expected = result.capacity_rate, config.workload.expected_rate
    if (capacity or 0.0) < expected and result.generator_limited:
        not_verified(
            f"capacity {capacity} requests/s, and the step above it was invalid (the suite's "
            f"generator fell behind): whether the target reaches {expected:g} is not known"
        )
    assert capacity is not None and capacity >= expected, (
        f"capacity {capacity} requests/s below expected_rate {expected:g} "
        f"(first failing step: {result.failing_load} requests/s)"
    )
