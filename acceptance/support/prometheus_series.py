"""The platform's processes as Prometheus sees them: memory, CPU, starts and ``up``, per instance.

Where the suite has no pids (an external target), the resource, soak and stability checks read
the same figures from the deployment's Prometheus (``[postdeploy] prometheus_url``): the series
of the platform's scrape job (``[monitoring] job``, optionally ``instance`` =~ a pattern), one
per process it scrapes (``process_resident_memory_bytes``, ``process_cpu_seconds_total``,
``process_start_time_seconds``, ``up``), plus the workers' figures the platform exports for
processes nobody can scrape (``platform_worker_*``, by ``worker``). The samples are turned into
the same ``procstat.Series`` the ``/proc`` sampler gives, so both sources are judged by one code.

A window's figures need a sample taken after it ended: the helpers wait (bounded by
``[monitoring] sample_wait_s``) until Prometheus holds one, and take the last sample before the
window began, so the series spans the whole window at any scrape interval.
"""

from __future__ import annotations

import math
import time
from typing import Any

import httpx

from acceptance.settings import SuiteConfig
from acceptance.support.procstat import Series
from service.waiting import PollTimeout, poll_until

RSS, CPU, STARTED = (
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_start_time_seconds",
)
WORKER_RSS, WORKER_CPU, WORKER_STARTED = (
    "platform_worker_resident_memory_bytes",
    "platform_worker_cpu_seconds_total",
    "platform_worker_start_time_seconds",
)
Samples = dict[str, list[tuple[float, float]]]  # process name -> [(unix time, value)]


class PrometheusError(Exception):
    """Prometheus did not answer a query (its reason, for a not-verified item)."""


def selector(config: SuiteConfig, metric: str) -> str:
    """``metric{job="...",instance=~"..."}`` for the platform's series."""
    labels = [f'job="{_quoted(config.monitoring.job)}"']
    if config.monitoring.instance:
        labels.append(f'instance=~"{_quoted(config.monitoring.instance)}"')
    return f"{metric}{{{','.join(labels)}}}"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def query(prometheus: str, promql: str, timeout: float, at: float | None = None) -> list[Any]:
    """``/api/v1/query``'s result list (vector or matrix)."""
    params = {"query": promql} | ({"time": f"{at:.3f}"} if at is not None else {})
    try:
        answer = httpx.get(f"{prometheus.rstrip('/')}/api/v1/query", params=params, timeout=timeout)
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise PrometheusError(f"{prometheus}: {type(exc).__name__}: {exc}") from exc
    if answer.status_code != 200 or body.get("status") != "success":
        raise PrometheusError(f"{prometheus}: {answer.status_code} {body.get('error', '')}")
    result: list[Any] = body.get("data", {}).get("result", [])
    return result


def _name(labels: dict[str, str]) -> str:
    """A process's name: the worker for the platform's worker gauges, else the instance."""
    return f"worker {labels['worker']}" if "worker" in labels else str(labels.get("instance"))


def raw_samples(prometheus: str, series: str, start: float, end: float, timeout: float) -> Samples:
    """Every sample of ``series`` in ``[start, end]`` by process (one instance per worker)."""
    window = max(1, math.ceil(end - start))
    out: Samples = {}
    for item in sorted(query(prometheus, f"{series}[{window}s]", timeout, at=end), key=str):
        name = _name(item.get("metric", {}))
        if name not in out:  # every API instance exports the same worker: keep one
            out[name] = [(float(t), float(v)) for t, v in item.get("values", [])]
    return out


def wait_sample_after(prometheus: str, series: str, after: float, config: SuiteConfig) -> bool:
    """Poll until Prometheus holds a sample of every series of ``series`` taken after ``after``:
    the oldest newest sample, since the API processes are scraped at different moments (one
    scrape after the window must not make another process's earlier last sample look like a
    process that died). A process that died has no current series (Prometheus marks them stale
    when its scrape fails), so it does not hold the wait up."""

    def newest() -> bool:
        found = query(prometheus, f"min(timestamp({series}))", config.http_timeout_s)
        return bool(found) and float(found[0]["value"][1]) >= after

    try:
        poll_until(newest, timeout=config.monitoring.sample_wait_s, interval=0.5)
    except PollTimeout:
        return False
    return True


def _spanning(points: list[tuple[float, float]], start: float, end: float) -> list[int]:
    """Indexes of the samples from the last one at or before ``start`` to the first at or
    after ``end``: the series covers the window whatever the scrape interval."""
    times = [t for t, _ in points]
    first = max((i for i, t in enumerate(times) if t <= start), default=0)
    last = min((i for i, t in enumerate(times) if t >= end), default=len(times) - 1)
    return list(range(first, last + 1))


def process_series(
    prometheus: str, config: SuiteConfig, start: float, end: float
) -> tuple[dict[str, Series], bool]:
    """CPU and RSS series of every process of the platform over ``[start, end]`` (unix time),
    ``t`` relative to ``start``; and whether a sample after ``end`` arrived in time."""
    fresh = wait_sample_after(prometheus, selector(config, RSS), end, config)
    until = time.time()
    lookback = start - config.monitoring.sample_wait_s
    timeout = config.http_timeout_s
    series: dict[str, Series] = {}
    for rss_metric, cpu_metric in ((RSS, CPU), (WORKER_RSS, WORKER_CPU)):
        rss = raw_samples(prometheus, selector(config, rss_metric), lookback, until, timeout)
        cpu = raw_samples(prometheus, selector(config, cpu_metric), lookback, until, timeout)
        for name, points in rss.items():
            cpu_at = dict(cpu.get(name, []))
            joined = [(t, cpu_at[t], int(v)) for t, v in points if t in cpu_at]
            kept = [joined[i] for i in _spanning([(t, 0.0) for t, *_ in joined], start, end)]
            series[name] = Series([(t - start, c, r) for t, c, r in kept], min_points=2)
    return series, fresh


def started_since(prometheus: str, config: SuiteConfig, since: float) -> dict[str, float]:
    """Processes (instances and workers) whose current process started after ``since``."""
    found: dict[str, float] = {}
    for metric in (STARTED, WORKER_STARTED):
        for item in query(prometheus, selector(config, metric), config.http_timeout_s):
            started = float(item["value"][1])
            if started > since:
                found[_name(item.get("metric", {}))] = started
    return found


def scraped_instances(prometheus: str, config: SuiteConfig) -> dict[str, float]:
    """Each scrape target of the platform's job and its current ``up`` (1 or 0)."""
    found = query(prometheus, selector(config, "up"), config.http_timeout_s)
    return {_name(i.get("metric", {})): float(i["value"][1]) for i in found}


def down_since(prometheus: str, config: SuiteConfig, since: float) -> dict[str, float]:
    """Instances that were down (``up == 0``) in some scrape since ``since``: their lowest up."""
    window = max(1, math.ceil(time.time() - since))
    promql = f"min_over_time({selector(config, 'up')}[{window}s])"
    lows = {
        _name(item.get("metric", {})): float(item["value"][1])
        for item in query(prometheus, promql, config.http_timeout_s)
    }
    return {name: low for name, low in lows.items() if low < 1}
