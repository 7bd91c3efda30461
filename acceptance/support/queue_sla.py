"""Enqueue-to-start and enqueue-to-finish p95 per queue, from the job records: the figures of
latency.queue-sla, measured again after the deployment by post1h.performance-stable.

The records carry ``created_at``, ``started_at`` and ``finished_at`` stamped by the service, so the
figures do not include the suite's polling delay. A job that never starts within the finish SLA
(plus slack) counts as missing the SLA; the figures do not wait for it longer.
"""

from __future__ import annotations

import contextlib

import httpx

from acceptance.settings import SuiteConfig
from acceptance.support.observe import NOOP, parse_time
from load.stats import percentile
from service.waiting import PollTimeout, poll_until

QUEUES = ("hot", "backfill")


def _enqueue(client: httpx.Client, queue: str, config: SuiteConfig) -> str:
    """Enqueue a no-op job, waiting out a 429 of the key's rate limit (other checks share it)."""

    def accepted() -> str | None:
        response = client.post("/enqueue", json={**NOOP, "queue": queue})
        if response.status_code == 429:
            return None
        assert response.status_code == 202, f"enqueue: {response.status_code} {response.text}"
        return str(response.json()["job_id"])

    job_id: str = poll_until(
        accepted,
        timeout=config.performance.recovery_max_s,
        interval=0.25,
        message="the API key's rate limit to admit an enqueue",
    )
    return job_id


def queue_sla_figures(client: httpx.Client, config: SuiteConfig) -> dict[str, dict[str, object]]:
    """Enqueue ``sla_jobs`` no-op jobs per queue; p95 waits per queue and jobs that never ran."""
    perf = config.performance
    ids = {q: [_enqueue(client, q, config) for _ in range(perf.sla_jobs)] for q in QUEUES}
    records: dict[str, dict[str, object]] = {}

    def all_done() -> bool:
        for job_id in [i for ids_ in ids.values() for i in ids_ if i not in records]:
            response = client.get(f"/status/{job_id}")
            if response.status_code == 429:  # the key's budget is shared: try next round
                return False
            assert response.status_code == 200, f"status {job_id}: {response.status_code}"
            if response.json()["status"] in ("succeeded", "dead"):
                records[job_id] = response.json()
        return len(records) == sum(len(v) for v in ids.values())

    # Jobs that do not finish in time are reported below as missing the SLA.
    with contextlib.suppress(PollTimeout):
        poll_until(
            all_done,
            timeout=max(perf.sla_finish_p95_s.values()) + config.timing_slack_s,
            interval=0.25,
            message="SLA jobs to finish",
        )
    figures: dict[str, dict[str, object]] = {}
    for queue, job_ids in ids.items():
        start, finish = [], []
        for job_id in job_ids:
            record = records.get(job_id, {})
            created = parse_time(record.get("created_at"))
            started, finished = (
                parse_time(record.get("started_at")),
                parse_time(record.get("finished_at")),
            )
            if created and started:
                start.append((started - created).total_seconds())
            if created and finished:
                finish.append((finished - created).total_seconds())
        figures[queue] = {
            "jobs": len(job_ids),
            "unfinished": len(job_ids) - len(finish),
            "start_p95_s": None if not start else round(percentile(start, 95) or 0.0, 3),
            "finish_p95_s": None if not finish else round(percentile(finish, 95) or 0.0, 3),
        }
    return figures


def sla_breaches(figures: dict[str, dict[str, object]], config: SuiteConfig) -> dict[str, str]:
    """Per queue, why it misses its SLA (unfinished jobs, p95 over the limit)."""
    perf = config.performance
    breaches: dict[str, str] = {}
    for queue, f in figures.items():
        start, finish = f["start_p95_s"], f["finish_p95_s"]
        if f["unfinished"]:
            breaches[queue] = f"{f['unfinished']} of {f['jobs']} jobs did not finish in time"
        elif isinstance(start, float) and start > perf.sla_start_p95_s.get(queue, start):
            breaches[queue] = f"start p95 {start} s > {perf.sla_start_p95_s[queue]} s"
        elif isinstance(finish, float) and finish > perf.sla_finish_p95_s.get(queue, finish):
            breaches[queue] = f"finish p95 {finish} s > {perf.sla_finish_p95_s[queue]} s"
    return breaches
