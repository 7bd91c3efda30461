"""Response Times: enqueue-to-start and enqueue-to-finish p95 per queue, from the job records.

The records carry ``created_at``, ``started_at`` and ``finished_at`` stamped by the service, so the
figures do not include the suite's polling delay. A job that never starts within the finish SLA
(plus slack) counts as missing the SLA; the check does not wait for it longer.
"""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.settings import SuiteConfig
from acceptance.support.queue_sla import queue_sla_figures, sla_breaches


@pytest.mark.checklist("latency.queue-sla")
def test_queue_wait_within_sla(
    client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """Enqueue-to-start and enqueue-to-finish p95 of each queue are within its SLA."""
    figures = queue_sla_figures(client, config)
    evidence.add(
        queues=figures,
        start_sla_s=config.performance.sla_start_p95_s,
        finish_sla_s=config.performance.sla_finish_p95_s,
    )
    breaches = sla_breaches(figures, config)
    assert not breaches, f"queues out of SLA: {breaches}"
