"""Load Testing: no process leaks memory in a soak; an overload spike is shed and recovered from.

The soak samples the resident memory of every service process: on the reference stack from
/proc (its pids), on a deployment from its Prometheus (every scraped process of the platform's
job and the workers' own figures, ``acceptance/support/processes.py``); with neither the item is
not verified. The spike is destructive: many users at once overload the target for
a moment (part of the API key's rate-limit budget goes too), and the check waits (bounded) until
latency is back to what it was before.
"""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.reports.charts import line_chart
from acceptance.settings import SuiteConfig
from acceptance.support.loadgen import NO_JOB, SHED, run_load
from acceptance.support.monitoring import monitoring
from acceptance.support.observe import api_calls
from acceptance.support.processes import ProcessWatch
from acceptance.support.procstat import service_pids, start_ticks
from acceptance.support.prometheus_series import PrometheusError, started_since
from acceptance.support.shedding import (
    assert_shed_by_target,
    figures,
    overload_calls,
    read_counters,
)
from load.stats import percentile
from service.waiting import poll_until


@pytest.mark.checklist("load.memory-leaks")
def test_no_process_leaks_memory_in_soak(
    target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """After warm-up, the RSS slope of every service process stays under the threshold."""
    perf = config.performance
    watch = ProcessWatch(target, config, perf.sample_interval_s)
    if watch.missing is not None:
        not_verified(watch.missing)
    with watch:
        load = run_load(
            target,
            api_calls(target),
            users=perf.reference_users,
            duration_s=perf.soak_warmup_s + perf.soak_s,
            timeout_s=config.http_timeout_s,
            rps=perf.reference_rps,
        )
    if watch.missing is not None:
        not_verified(watch.missing)
    slopes = {
        n: s.rss_slope_mb_per_min(after_s=perf.soak_warmup_s) for n, s in watch.series.items()
    }
    rounded = {n: None if v is None else round(v, 2) for n, v in slopes.items()}
    evidence.add(
        rss_slope_mb_per_min=rounded,
        threshold_mb_per_min=perf.leak_slope_max_mb_per_min,
        warmup_s=perf.soak_warmup_s,
        soak_s=perf.soak_s,
        requests=len(load.samples),
        gone=sorted(watch.gone),
        **watch.evidence(),
        memory_chart=line_chart(
            "Resident memory during the soak",
            {n: s.rss_mb() for n, s in watch.series.items()},
            x_label="time since start (s)",
            y_label="resident memory (MB)",
        ),
    )
    assert not watch.gone, f"processes died during the soak: {sorted(watch.gone)}"
    leaking = {
        n: v for n, v in rounded.items() if v is not None and v > perf.leak_slope_max_mb_per_min
    }
    assert not leaking, (
        f"memory grows faster than {perf.leak_slope_max_mb_per_min} MB/min: {leaking}"
    )


def _restarted(
    target: Target,
    config: SuiteConfig,
    pids: dict[str, int],
    starts: dict[str, int | None],
    since: float,
) -> dict[str, object]:
    """Processes that died or restarted since ``since``: from /proc with the stack's pids, else
    from Prometheus' process start times; {} when neither is there to ask."""
    if pids:
        return {n: p for n, p in pids.items() if start_ticks(p) != starts[n]}
    prometheus = monitoring(target, config).prometheus
    if prometheus is None:
        return {}
    try:
        return dict(started_since(prometheus, config, since))
    except PrometheusError:
        return {}


def _probe(client: httpx.Client, count: int) -> tuple[float, float, list[int]]:
    """p50 and p95 latency (ms) of a few sequential authenticated status reads, and statuses."""
    times, statuses = [], []
    for _ in range(count):
        started = time.perf_counter()
        statuses.append(client.get(f"/status/{NO_JOB}").status_code)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), percentile(times, 95) or 0.0, statuses


@pytest.mark.destructive
@pytest.mark.since("0.2.0")
@pytest.mark.checklist("load.recovery")
def test_overload_spike_shed_and_recovered(
    target: Target, client: httpx.Client, config: SuiteConfig, evidence: Evidence
) -> None:
    """A spike past the target's capacity is shed by the target (429/503 with Retry-After, no
    other 5xx), every process survives, and latency is back to baseline within the bound."""
    perf = config.performance
    baseline_p50, baseline_p95, _ = _probe(client, perf.baseline_probes)
    pids = service_pids(target.stack) if target.stack is not None else {}
    starts = {n: start_ticks(p) for n, p in pids.items()}
    spike_began = time.time()
    calls = overload_calls(client, config, target.api_key)
    before = read_counters(target, config, client)
    # Many users at once on open connections, streams first: more requests in flight than the
    # target serves at once. The spike ends once shown (``spike_shed_enough``).
    spike = run_load(
        target,
        calls,
        users=perf.spike_users,
        duration_s=perf.spike_max_s,
        timeout_s=perf.spike_timeout_s,
        max_requests=perf.spike_requests,
        stop_after_shed=perf.spike_shed_enough,
        connect_first=True,
    )
    after = read_counters(target, config, client)
    stats = spike.stats(errors_include_503=False)
    began = time.monotonic()
    recovered: dict[str, float] = {}

    def back_to_baseline() -> bool:
        p50, p95, statuses = _probe(client, perf.recovery_probes)
        limit = perf.baseline_factor * baseline_p50 + perf.baseline_slack_ms
        if all(s not in SHED for s in statuses) and p50 <= limit:
            recovered.update(after_s=round(time.monotonic() - began, 2), p50=p50, p95=p95)
            return True
        return False

    try:
        poll_until(
            back_to_baseline,
            timeout=perf.recovery_max_s,
            interval=0.1,
            message="latency back to baseline after the spike",
        )
    finally:
        died = _restarted(target, config, pids, starts, spike_began)
        evidence.add(
            spike={**stats, "users": perf.spike_users, "wall_s": round(spike.wall_s, 2)},
            **figures(spike, before, after),
            p95_ms={
                "before": round(baseline_p95, 2),
                "during": {n: spike.stats(n)["p95_ms"] for n in spike.names()},
                "after": round(recovered["p95"], 2) if recovered else None,
            },
            baseline_p50_ms=round(baseline_p50, 2),
            recovery_s=recovered.get("after_s"),
            recovery_max_s=perf.recovery_max_s,
            crashed_or_restarted=sorted(died),
            spike_chart=line_chart(
                "p95 latency during the spike",
                spike.p95_series(0.1),
                x_label="time since start (s)",
                y_label="p95 latency (ms)",
            ),
        )
    assert not died, f"processes crashed or restarted under the spike: {sorted(died)}"
    assert stats["errors"] == 0, (
        f"spike answered with errors (5xx other than 503, timeouts): {stats}"
    )
    shed = stats["limited"] + stats["unavailable"]
    assert shed > 0, (
        f"overload not shed: {stats['requests']} requests from {perf.spike_users} users, no "
        f"429/503 (target's in-flight limit: {before.limit} per process, "
        f"{before.capacity} in all)"
    )
    assert_shed_by_target(spike, before, after)
