"""Resource Utilization: CPU, memory, disk and network of the service under a reference load.

CPU and memory are judged under one fixed, bounded reference load (a request rate, not a
saturation test) shared by both checks. With a stack the figures come from /proc for every
service process; against an external target from the deployment's Prometheus, per process of the
platform's scrape job (``acceptance/support/processes.py``); without one, from the API's own
process metrics on /metrics (per process it could read, ``platform_metrics``), and without those
the item is not verified.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.reports.charts import line_chart
from acceptance.settings import SuiteConfig
from acceptance.support.api import health
from acceptance.support.loadgen import LoadResult, run_load
from acceptance.support.observe import api_calls, http_client
from acceptance.support.platform_metrics import PlatformMetrics, incomparable, platform_metrics
from acceptance.support.processes import ProcessWatch


@dataclass
class Reference:
    """One reference-load run: its requests, the processes' figures and /metrics before/after."""

    load: LoadResult
    watch: ProcessWatch
    before: PlatformMetrics
    after: PlatformMetrics


@pytest.fixture(scope="module")
def reference(target: Target, config: SuiteConfig) -> Reference:
    perf = config.performance
    with http_client(target, config) as http:
        before = platform_metrics(target, config, http)
        with ProcessWatch(target, config, perf.sample_interval_s) as watch:
            load = run_load(
                target,
                api_calls(target),
                users=perf.reference_users,
                duration_s=perf.reference_s,
                timeout_s=config.http_timeout_s,
                rps=perf.reference_rps,
            )
        after = platform_metrics(target, config, http)
    return Reference(load, watch, before, after)


def _is_api(name: str, watch: ProcessWatch) -> bool:
    """The API's processes: ``api``, ``api-2``... on the stack, every scraped instance (not a
    worker) else."""
    if watch.sampler is not None:
        return name == "api" or name.startswith("api-")
    return not name.startswith("worker ")


def _per_process_change(ref: Reference, name: str) -> dict[str, float] | None:
    """How much ``name`` changed in each process over the reference load; None when the target
    does not export it or the two reads do not compare (a balancing public URL)."""
    before, after = ref.before.per_instance(name), ref.after.per_instance(name)
    if not after or incomparable(ref.before, ref.after):
        return None
    return {f"api {i}": v - before.get(i, 0.0) for i, v in after.items()}


def _api_cpu_from_metrics(ref: Reference) -> dict[str, float | None] | None:
    used = _per_process_change(ref, "process_cpu_seconds_total")
    if used is None or not ref.load.wall_s:
        return None
    return {n: round(100.0 * v / ref.load.wall_s, 2) for n, v in used.items()}


@pytest.mark.checklist("resources.cpu")
def test_cpu_within_range(reference: Reference, config: SuiteConfig, evidence: Evidence) -> None:
    """Under the reference load every service process stays within the configured CPU range."""
    perf = config.performance
    achieved = round(len(reference.load.samples) / reference.load.wall_s, 1)
    evidence.add(
        reference_rps=perf.reference_rps,
        achieved_rps=achieved,
        range_percent=[perf.cpu_min_percent, perf.cpu_max_percent],
    )
    watch = reference.watch
    if watch.series and watch.missing is None:
        cpu = {n: s.cpu_percent() for n, s in watch.series.items()}
        source = watch.source
    else:
        api = _api_cpu_from_metrics(reference)
        if api is None:
            not_verified(f"{watch.missing}; and no process_cpu_seconds_total in /metrics")
        cpu = api
        source = (
            f"/metrics process_cpu_seconds_total from {reference.after.source} ({watch.missing})"
        )
    evidence.add(
        cpu_percent={n: None if v is None else round(v, 2) for n, v in cpu.items()}, source=source
    )
    high = {n: v for n, v in cpu.items() if v is not None and v > perf.cpu_max_percent}
    assert not high, f"CPU above {perf.cpu_max_percent}% of a core: {high}"
    api_cpu = max((v for n, v in cpu.items() if _is_api(n, watch) and v is not None), default=None)
    assert api_cpu is not None and api_cpu >= perf.cpu_min_percent, (
        f"API CPU {api_cpu}% under load: below {perf.cpu_min_percent}% (is it serving?)"
    )


@pytest.mark.checklist("resources.memory")
def test_memory_stable_under_load(
    reference: Reference, config: SuiteConfig, evidence: Evidence
) -> None:
    """Resident memory sampled under the reference load grows slower than the threshold."""
    limit = config.performance.memory_slope_max_mb_per_min
    if reference.watch.series and reference.watch.missing is None:
        series = reference.watch.series
        slopes = {n: s.rss_slope_mb_per_min() for n, s in series.items()}
        evidence.add(
            rss_chart=line_chart(
                "Resident memory under the reference load",
                {n: s.rss_mb() for n, s in series.items()},
                x_label="time since start (s)",
                y_label="resident memory (MB)",
            )
        )
    else:
        grown = _per_process_change(reference, "process_resident_memory_bytes")
        if grown is None:
            not_verified(
                f"{reference.watch.missing}; and no process_resident_memory_bytes in /metrics"
            )
        slopes = {n: v / 2**20 / reference.load.wall_s * 60 for n, v in grown.items()}
    rounded = {n: None if v is None else round(v, 2) for n, v in slopes.items()}
    evidence.add(
        rss_slope_mb_per_min=rounded, threshold_mb_per_min=limit, source=reference.watch.source
    )
    growing = {n: v for n, v in rounded.items() if v is not None and v > limit}
    assert not growing, f"memory grows faster than {limit} MB/min: {growing}"


def _volumes(body: dict[str, Any], target: Target) -> dict[str, dict[str, Any]]:
    disk = body["components"].get("disk") or {}
    volumes: dict[str, dict[str, Any]] = {"data": disk} if "free_bytes" in disk else {}
    volumes.update(disk.get("volumes") or {})
    for name, comp in body["components"].items():
        if name != "disk" and isinstance(comp, dict) and "free_bytes" in comp:
            volumes[name] = comp
    if target.stack is not None and "logs" not in volumes:
        usage = shutil.disk_usage(Path(target.stack.dir) / "logs")
        volumes["logs"] = {
            "free_bytes": usage.free,
            "total_bytes": usage.total,
            "free_ratio": round(usage.free / usage.total, 4),
            "source": "stack",
        }
    return volumes


@pytest.mark.checklist("resources.disk")
def test_disk_space_sufficient(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Every volume the target reports (data, backup, logs) has enough free space."""
    perf = config.performance
    volumes = _volumes(health(anon_client), target)
    if not volumes:
        not_verified("/health reports no disk figures")
    figures = {
        n: {k: v.get(k) for k in ("path", "free_bytes", "total_bytes", "free_ratio")}
        for n, v in volumes.items()
    }
    evidence.add(
        volumes=figures,
        min_free_ratio=perf.disk_min_free_ratio,
        min_free_mb=perf.disk_min_free_mb,
        unreported=[v for v in ("data", "backup", "logs") if v not in volumes],
    )
    low = {
        n: v
        for n, v in figures.items()
        if (v["free_ratio"] or 0) < perf.disk_min_free_ratio
        or (v["free_bytes"] or 0) / 2**20 < perf.disk_min_free_mb
    }
    assert not low, f"volumes short of space: {low}"


def _connect_ms(host: str, port: int, context: ssl.SSLContext | None) -> float:
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=5) as raw:
        if context is not None:
            with context.wrap_socket(raw, server_hostname=host):
                pass
    return (time.perf_counter() - started) * 1000


def _dependencies(target: Target) -> dict[str, tuple[str, int]]:
    """host:port of the target's dependencies (stack ground truth); none for external targets."""
    found: dict[str, tuple[str, int]] = {}
    if target.stack is None:
        return found
    urls = {"redis": target.stack.redis_url}
    urls.update({n: e["url"] for n, e in target.stack.emulators.items() if e.get("url")})
    for name, url in urls.items():
        parts = urlsplit(str(url))
        if parts.hostname and parts.port:
            found[name] = (parts.hostname, parts.port)
    return found


@pytest.mark.checklist("resources.network")
def test_network_connections_stable(
    target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Fresh connections (with TLS) to the target and its dependencies: none fail, low jitter."""
    perf = config.performance
    parts = urlsplit(target.url)
    tls = (
        target.verify if isinstance(target.verify, ssl.SSLContext) else ssl.create_default_context()
    )
    ends: dict[str, tuple[str, int, ssl.SSLContext | None]] = {
        "target": (
            parts.hostname or "",
            parts.port or 443,
            tls if parts.scheme == "https" else None,
        )
    }
    ends.update({n: (h, p, None) for n, (h, p) in _dependencies(target).items()})
    results: dict[str, dict[str, Any]] = {}
    for name, (host, port, context) in ends.items():
        times, failures = [], []
        for _ in range(perf.network_probes):
            try:
                times.append(_connect_ms(host, port, context))
            except OSError as exc:
                failures.append(type(exc).__name__)
        results[name] = {
            "probes": perf.network_probes,
            "failures": failures,
            "mean_ms": round(statistics.fmean(times), 2) if times else None,
            "jitter_ms": round(statistics.pstdev(times), 2) if times else None,
        }
    evidence.add(connections=results, jitter_max_ms=perf.network_jitter_max_ms)
    failed = {n: r["failures"] for n, r in results.items() if r["failures"]}
    assert not failed, f"connections failed: {failed}"
    jittery = {
        n: r["jitter_ms"]
        for n, r in results.items()
        if (r["jitter_ms"] or 0) > perf.network_jitter_max_ms
    }
    assert not jittery, f"jitter above {perf.network_jitter_max_ms} ms: {jittery}"
