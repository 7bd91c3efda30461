"""acceptance/support/prometheus_series.py against a real Prometheus scraping a loopback
exporter under job "platform": per-process series spanning a window, starts and ``up``."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from acceptance.settings import SuiteConfig
from acceptance.support.prometheus_series import (
    _spanning,
    process_series,
    scraped_instances,
    selector,
    started_since,
)
from service.stack.monitoring_config import prometheus_argv
from service.stack.ports import free_port
from service.waiting import poll_until

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed"),
]
STARTED = time.time()


class _Workers(Collector):
    """One worker's figures, as the platform's API exports them."""

    def collect(self) -> Iterator[Metric]:
        for name, value in (
            ("platform_worker_resident_memory_bytes", 50e6),
            ("platform_worker_start_time_seconds", STARTED),
        ):
            gauge = GaugeMetricFamily(name, name, labels=["worker"])
            gauge.add_metric(["worker-1"], value)
            yield gauge
        cpu = CounterMetricFamily("platform_worker_cpu_seconds", "cpu", labels=["worker"])
        cpu.add_metric(["worker-1"], time.time() - STARTED)
        yield cpu


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Prometheus scraping an in-process exporter every 500 ms; (its URL, the instance)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    registry.register(_Workers())
    server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    instance = f"127.0.0.1:{server.server_port}"
    work = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "500ms", "scrape_timeout": "500ms"},
        "scrape_configs": [{"job_name": "platform", "static_configs": [{"targets": [instance]}]}],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    argv = prometheus_argv("prometheus", work / "prometheus.yml", work / "data", port, "1h", 1.0)
    with (work / "out.log").open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        poll_until(lambda: _answers(f"{url}/-/ready"), timeout=30, interval=0.2, message="ready")
        # A fresh Prometheus scrapes its targets for the first time some seconds after it starts.
        poll_until(
            lambda: scraped_instances(url, SuiteConfig()),
            timeout=30,
            interval=0.2,
            message="the first scrape",
        )
        yield url, instance
    finally:
        process.terminate()
        process.wait(timeout=10)
        server.shutdown()
        server.server_close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_selector_uses_job_and_instance_labels() -> None:
    config = SuiteConfig.model_validate({"monitoring": {"job": "api", "instance": "10\\.0\\..*"}})
    assert selector(config, "up") == 'up{job="api",instance=~"10\\\\.0\\\\..*"}'


def test_spanning_keeps_the_samples_around_the_window() -> None:
    points = [(float(t), 0.0) for t in range(10)]
    assert _spanning(points, 2.5, 6.5) == [2, 3, 4, 5, 6, 7]


def test_process_series_span_the_window(prometheus: tuple[str, str]) -> None:
    """Each process (the instance, the worker) has CPU and RSS from before to after the window."""
    url, instance = prometheus
    config = SuiteConfig()
    start = time.time()
    poll_until(lambda: time.time() > start + 1.5, timeout=5, interval=0.1)  # the window
    series, fresh = process_series(url, config, start, time.time())
    assert fresh
    assert set(series) == {instance, "worker worker-1"}
    for one in series.values():
        assert one.points[0][0] <= 0 and one.points[-1][0] >= 1.5, one.points
        assert one.rss_slope_mb_per_min() is not None
    assert series["worker worker-1"].cpu_percent() == pytest.approx(100.0, rel=0.2)


def test_starts_and_up(prometheus: tuple[str, str]) -> None:
    url, instance = prometheus
    config = SuiteConfig()
    assert scraped_instances(url, config) == {instance: 1.0}
    assert set(started_since(url, config, STARTED - 3600)) == {instance, "worker worker-1"}
    assert started_since(url, config, time.time()) == {}
