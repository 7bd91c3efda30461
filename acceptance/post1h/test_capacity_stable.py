"""Short-term Monitoring: the capacity under the SLO has not regressed against the baseline.

The second check of post1h.performance-stable (the first, in ``test_short_term.py``, compares
API p95 per endpoint). The baseline's capacity is load.concurrent-users' ``capacity_rate`` of
the previous run (``--baseline``), else of this session's predeploy phase. The rule is
``python -m load.capacity --baseline``'s: capacity below the baseline's x (1 -
``[workload.capacity] regression_tolerance``) has regressed. It is tested directly, by one step
of the declared workload at exactly that rate: if it still meets the SLO, the capacity is at
least that high, whatever the resolution of the search that found the baseline's figure.
"""

from __future__ import annotations

import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.capacity import capacity_baseline, rate_step
from acceptance.support.declared_load import chat_target, gate_workload


@pytest.mark.checklist("post1h.performance-stable")
def test_capacity_not_regressed(
    request: pytest.FixtureRequest, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """The baseline's capacity less the tolerance still meets the SLO (goodput, valid run)."""
    found = capacity_baseline(request, config)
    if isinstance(found, str):
        not_verified(found)
    source, before = found
    chat = chat_target(target, config)
    if isinstance(chat, str):
        not_verified(chat)
    tolerance = config.workload.capacity.regression_tolerance
    rate = round(before * (1 - tolerance), 3)
    step = rate_step(chat, gate_workload(config.workload), config.slo, rate)
    evidence.add(
        capacity_baseline=source,
        capacity_baseline_rate=before,
        capacity_tolerance=tolerance,
        capacity_check_rate=rate,
        capacity_check=step,
    )
    if not step["valid"]:
        not_verified(f"the step at {rate:g} requests/s is invalid: {step['invalid_reason']}")
    assert step["passed"], (
        f"capacity regressed: {rate:g} requests/s (the baseline's {before:g} less "
        f"{tolerance:.0%}) no longer meets the SLO: goodput {step['goodput']} < "
        f"{config.slo.goodput_min}"
    )
