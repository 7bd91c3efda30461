"""A test alert through a real Alertmanager: a loopback webhook receiver, a bounded Alertmanager
process, and the alert posted to its API.

"The configuration is valid" is not "notifications arrive": only an alert that went through
Alertmanager's routing to a receiver shows the channel works. The receiver is the suite's own,
on loopback, so no pager rings during a release check. Receiver, webhook rewrite and command line
are the ones the reference stack runs its own Alertmanager with (``service/stack/``).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from service.stack.alert_receiver import loopback_receiver
from service.stack.monitoring_config import READY_PATH, alertmanager_argv
from service.stack.ports import free_port
from service.waiting import poll_until

__all__ = [
    "TEST_ALERT",
    "loopback_receiver",
    "post_test_alert",
    "routed_receivers",
    "running_alertmanager",
]

TEST_ALERT = "PreflightTestAlert"


@contextmanager
def running_alertmanager(
    binary: str, config: dict[str, Any], workdir: Path, timeout_s: float
) -> Iterator[str]:
    """Alertmanager on a loopback port with ``config``, clustering off; yields its URL and is
    stopped on exit. Not ready within ``timeout_s``: AssertionError with its log."""
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "alertmanager.log").open("w")
    process = subprocess.Popen(
        alertmanager_argv(binary, config_file, workdir / "data", port),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        poll_until(
            lambda: process.poll() is not None or _ready(url),
            timeout=timeout_s,
            message=f"Alertmanager not ready at {url}",
        )
        assert process.poll() is None, (
            f"Alertmanager exited: {(workdir / 'alertmanager.log').read_text()[-1500:]}"
        )
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}{READY_PATH}", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def post_test_alert(url: str, labels: dict[str, str], timeout_s: float) -> None:
    """Post one alert that resolves itself after five minutes (no stale test alert remains)."""
    now = dt.datetime.now(dt.UTC)
    alert = {
        "labels": {"alertname": TEST_ALERT, **labels},
        "annotations": {"summary": "preflight release check: test notification, ignore"},
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(minutes=5)).isoformat(),
    }
    answer = httpx.post(f"{url.rstrip('/')}/api/v2/alerts", json=[alert], timeout=timeout_s)
    assert answer.status_code == 200, f"POST /api/v2/alerts: {answer.status_code} {answer.text}"


def routed_receivers(url: str, timeout_s: float) -> list[str]:
    """Receivers Alertmanager reports for the active test alert (empty: not there)."""
    answer = httpx.get(
        f"{url.rstrip('/')}/api/v2/alerts",
        params={"filter": f'alertname="{TEST_ALERT}"'},
        timeout=timeout_s,
    )
    assert answer.status_code == 200, f"GET /api/v2/alerts: {answer.status_code}"
    return sorted({str(r.get("name")) for a in answer.json() for r in a.get("receivers", [])})
