"""The performance, load, release and post-deployment checks fail on a target broken their way.

Each case boots one stack with one fault (no workers, a leaking workload, shedding switched off,
the datastore down, a stale configuration backup, crashed processes) or, where the fault *is* a
threshold breach, a healthy stack judged by a tight temporary preflight.toml; then it runs the
checks in a subprocess and asserts the items' verdict is ``fail`` in checklist.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.stack import Stack, StackOptions, running_stack
from tests.selftests.broken import failed, run_checks


def _boot(tmp_path: Path, workers: int = 2, **overrides: str) -> Any:
    return running_stack(
        StackOptions(workers=workers, overrides=overrides, directory=tmp_path / "stack")
    )


def _assert_fail(stack: Stack, ids: list[str], tmp_path: Path, config: str = "") -> None:
    items = run_checks(stack.info.stack_json, ids, tmp_path, config=config)
    assert not failed(items, ids), failed(items, ids)


class _FakeMonitoring(BaseHTTPRequestHandler):
    """Prometheus that scrapes the target, Alertmanager without the watchdog: alerting is cut."""

    scrape_url = ""

    def do_GET(self) -> None:
        if self.path.startswith("/api/v1/targets"):
            target = {"scrapeUrl": self.scrape_url, "health": "up", "lastScrape": "now"}
            body: Any = {"status": "success", "data": {"activeTargets": [target]}}
        else:
            body = []
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature; keep quiet
        pass


@contextmanager
def _fake_monitoring(scrape_url: str) -> Iterator[str]:
    handler = type("Handler", (_FakeMonitoring,), {"scrape_url": scrape_url + "/metrics"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


THRESHOLD_IDS = [
    "resources.cpu",
    "resources.memory",
    "resources.disk",
    "resources.network",
    "latency.api",
    "latency.db-queries",
    "latency.queue-sla",
    "load.concurrent-users",
    "backup.code-up-to-date",
    "readiness.restore-previous",
    "post1h.performance-stable",
    "post5m.metrics-normal",
    "post24h.scheduled-jobs",
    "post24h.monitoring",
    "post24h.stability",
    "post1h.integrations",
]


@pytest.mark.timeout(300)
def test_threshold_breaches_fail(tmp_path: Path) -> None:
    """A healthy stack judged by thresholds it cannot meet: every figure-based check fails."""
    compat = tmp_path / "compat.yaml"
    compat.write_text('releases:\n  "0.0.9": {schema_min: 2, schema_max: 3}\n')
    previous = tmp_path / "previous.json"
    fast = {"health": 0.01, "enqueue": 0.01, "status": 0.01}
    previous.write_text(
        json.dumps(
            {
                "schema": 1,
                "items": [{"id": "latency.api", "verdict": "pass", "evidence": {"p95_ms": fast}}],
            }
        )
    )
    with _boot(tmp_path) as stack, _fake_monitoring(stack.info.url) as monitoring:
        config = f"""
expected_commit = "{"0" * 40}"
[performance]
cpu_max_percent = 0.001
memory_slope_max_mb_per_min = -1000.0
disk_min_free_ratio = 0.99999
network_jitter_max_ms = 0.0
db_p95_ms = 0.0001
load_p95_ms = 0.001
regression_floor_ms = 0.0
[performance.sla_start_p95_s]
hot = 0.000001
[slo.endpoint_p95_ms]
health = 0.001
[report]
previous_run = "{previous}"
[release]
previous_version = "0.0.9"
compatibility = "{compat}"
[postdeploy]
min_requests = 1000000000
prometheus_url = "{monitoring}"
alertmanager_url = "{monitoring}"
monitoring_wait_s = 1.0
deployed_at = 2099-01-01T00:00:00Z
[postdeploy.scheduled_jobs_s]
arxiv_poll = 0.000001
backup = 0.000001
"""
        _assert_fail(stack, THRESHOLD_IDS, tmp_path, config)


@pytest.mark.timeout(300)
def test_no_workers_fail_queue_checks(tmp_path: Path) -> None:
    """Without workers jobs pile up: queue drain, queue SLA and the post-deploy checks fail."""
    ids = [
        "load.queue-bottleneck",
        "post1h.queue-normal",
        "post5m.services-running",
        "post5m.health",
    ]
    config = "[performance]\ndrain_timeout_s = 1.0\n[performance.sla_finish_p95_s]\nhot = 1.0\n"
    with _boot(tmp_path, workers=0) as stack:
        _assert_fail(stack, ids, tmp_path, config + "backfill = 1.0\n")


@contextmanager
def _leaking_workload(stack: Stack) -> Iterator[None]:
    """Probe jobs that each keep 1 MiB in the worker, ~10/s, until the block ends."""
    info = stack.info
    verify = ssl.create_default_context(cafile=str(info.ca_file))
    done = threading.Event()

    def enqueue() -> None:
        with httpx.Client(
            base_url=info.url, verify=verify, headers={"Authorization": f"Bearer {info.keys.admin}"}
        ) as http:
            while not done.wait(0.1):
                http.post("/enqueue", json={"kind": "probe", "payload": {"leak_kb": 1024}})

    thread = threading.Thread(target=enqueue, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=10)


@pytest.mark.timeout(300)
def test_leaking_workers_fail_memory_checks(tmp_path: Path) -> None:
    """Workers that retain memory per job fail the soak and the memory stability check."""
    ids = ["load.memory-leaks", "resources.memory", "post24h.resource-usage"]
    config = "[postdeploy]\nmemory_growth_max_mb = 2.0\n"  # ~7 MB per worker in the window
    with _boot(tmp_path) as stack, _leaking_workload(stack):
        _assert_fail(stack, ids, tmp_path, config)


@pytest.mark.timeout(300)
def test_no_shedding_fails_recovery_and_dos(tmp_path: Path) -> None:
    """No in-flight limit and no rate limit: the overload spike and one client's flood are
    served, never shed, and load.recovery and opsec.dos fail for that reason."""
    ids = ["load.recovery", "opsec.dos"]
    with _boot(tmp_path, workers=1, max_in_flight="0", rate_limit_enabled="false") as stack:
        items = run_checks(stack.info.stack_json, ids, tmp_path)
    assert not failed(items, ids), failed(items, ids)
    assert "overload not shed" in str(items["load.recovery"].get("reason"))
    assert "flood not shed" in str(items["opsec.dos"].get("reason"))


@pytest.mark.timeout(300)
def test_datastore_down_fails_error_checks(tmp_path: Path) -> None:
    """With Redis stopped, requests fail under load and errors reach the logs."""
    ids = ["load.error-rate", "load.concurrent-users", "post1h.error-rates", "post5m.no-errors"]
    with _boot(tmp_path) as stack:
        stack.stop_redis()
        try:
            _assert_fail(stack, ids, tmp_path)
        finally:
            stack.start_redis()


@pytest.mark.timeout(300)
def test_stale_config_backup_fails(tmp_path: Path) -> None:
    """A configuration backup that differs from what runs fails backup.config-current."""
    ids = ["backup.config-current"]
    with _boot(tmp_path) as stack:
        path = Path(str(stack.info.config_snapshot))
        snapshot = json.loads(path.read_text())
        snapshot["settings"]["job_max_attempts"] = 99  # what ran before the last change
        snapshot["config_hash"] = hashlib.sha256(
            json.dumps(snapshot["settings"], sort_keys=True).encode()
        ).hexdigest()
        path.write_text(json.dumps(snapshot))
        _assert_fail(stack, ids, tmp_path)


@pytest.mark.timeout(300)
def test_crashed_processes_fail_stability(tmp_path: Path) -> None:
    """A worker that crashed (restarted by the supervisor) and a provider that died fail the
    stability and external-connectivity checks."""
    ids = ["post24h.stability", "post5m.external-connectivity"]
    with _boot(tmp_path) as stack:
        old = stack.kill_worker("worker-1")
        stack.wait_for_worker_restart("worker-1", old)
        os.kill(stack.info.pids["vllm"], signal.SIGKILL)
        _assert_fail(stack, ids, tmp_path)
