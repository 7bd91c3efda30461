"""The stack's monitoring: Prometheus scraping the API processes at their own addresses (and the
vLLM emulator) and evaluating the repository's alert rules, Alertmanager routing the alerts to a
loopback receiver.

Not an ``AuxiliaryService``: Prometheus needs the API's address, which exists only once the API
runs, and neither should lengthen the boot. Alertmanager is started first thing, Prometheus the
moment the API answers, and both are waited for (``/-/ready``) at the end of the boot, while the
workers come up. Each runs only where its executable is found (``StackSettings``); otherwise, or
with ``StackOptions(monitoring=False)``, the stack runs without it, says so in a log line and in
``stack.json`` (``monitoring.skipped``), and the checks that need it end not verified.
"""

from __future__ import annotations

import functools
import logging
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from service.stack.alert_receiver import AlertReceiver
from service.stack.api import PROBE_TIMEOUT_S
from service.stack.boot import Layout
from service.stack.info import MonitoringInfo
from service.stack.monitoring_config import (
    READY_PATH,
    alertmanager_argv,
    loopback_copy,
    prometheus_argv,
    prometheus_config,
)
from service.stack.polling import StackError, wait_until
from service.stack.ports import free_port, is_port_clash
from service.stack.processes import ManagedProcess, launch_on_free_port, stop_all
from service.stack.settings import StackSettings

logger = logging.getLogger(__name__)

PARTS = ("prometheus", "alertmanager")


def _ready(http: httpx.Client, port: int) -> bool:
    try:
        return http.get(f"http://127.0.0.1:{port}{READY_PATH}").status_code == 200
    except httpx.HTTPError:
        return False


class _Launch:
    """A process started now and waited for later, with the stack's retry on a port clash."""

    def __init__(self, name: str, build: Callable[[int], ManagedProcess]) -> None:
        self.name = name
        self.build = build
        self.port = free_port()
        self.process = build(self.port)
        self.process.start()
        self.ready = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def finish(self, http: httpx.Client, timeout: float) -> None:
        """Wait for ``/-/ready``; a clash on the port starts it again on another one."""
        if self.ready:
            return
        ready = functools.partial(_ready, http)
        what = f"{self.name} ({READY_PATH}) on port {self.port}"
        try:
            wait_until(
                lambda: ready(self.port), timeout=timeout, what=what, abort=self.process.exit_reason
            )
        except StackError:
            stop_all([self.process], timeout=5)
            if not is_port_clash(self.process.log_since_start()):
                raise
            logger.info("port %s was taken before %s bound it; retrying", self.port, self.name)
            self.process, self.port = launch_on_free_port(
                self.build, ready, timeout=timeout, what=self.name
            )
        self.ready = True


class Monitoring:
    """Prometheus and Alertmanager of one stack; ``info`` is its ``stack.json`` entry."""

    def __init__(
        self, layout: Layout, settings: StackSettings, env: Mapping[str, str], *, enabled: bool
    ) -> None:
        self.layout = layout
        self.settings = settings
        self.env = dict(env)
        self.info = MonitoringInfo()
        self._binaries = self._find(enabled)
        self._receiver: AlertReceiver | None = None
        self._launches: dict[str, _Launch] = {}

    def _find(self, enabled: bool) -> dict[str, str]:
        """Executables of the parts that can run; the others go to ``info.skipped``."""
        settings = self.settings
        if not enabled:
            self.info.skipped = dict.fromkeys(PARTS, "not asked for (--no-monitoring)")
            return {}
        binaries = {
            "prometheus": [settings.prometheus_binary],
            "alertmanager": settings.alertmanager_binaries,
        }
        inputs = {
            "prometheus": settings.alert_rules,
            "alertmanager": [settings.alertmanager_config],
        }
        found: dict[str, str] = {}
        for part in PARTS:
            path = next((p for p in map(shutil.which, binaries[part]) if p), None)
            absent = [str(f) for f in inputs[part] if not f.is_file()]
            if path is None:
                self.info.skipped[part] = f"not started: no executable {binaries[part]} found"
            elif absent:
                self.info.skipped[part] = f"not started: {absent} not found"
            else:
                found[part] = path
                continue
            logger.warning("monitoring: %s %s", part, self.info.skipped[part])
        return found

    @property
    def names(self) -> list[str]:
        """The parts this stack runs (their output is ``logs/<name>.out``)."""
        return [part for part in PARTS if part in self._binaries]

    def _process(self, name: str, argv: list[str]) -> ManagedProcess:
        return ManagedProcess(
            name, argv, env=self.env, log_path=self.layout.out(name), cwd=self.layout.root
        )

    def _directory(self, name: str) -> Path:
        directory = self.layout.root / name
        directory.mkdir(exist_ok=True)
        return directory

    def start_alertmanager(self) -> None:
        """Start the receiver and Alertmanager with the repository's routes; do not wait."""
        binary = self._binaries.get("alertmanager")
        if binary is None:
            return
        directory = self._directory("alertmanager")
        self.info.receiver_log = self.layout.logs / "alert-notifications.jsonl"
        self._receiver = AlertReceiver(self.info.receiver_log)
        self._receiver.start()
        routes = yaml.safe_load(self.settings.alertmanager_config.read_text(encoding="utf-8"))
        config, _ = loopback_copy(routes or {}, self._receiver.url)
        config_file = directory / "alertmanager.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        self._launches["alertmanager"] = _Launch(
            "alertmanager",
            lambda port: self._process(
                "alertmanager", alertmanager_argv(binary, config_file, directory / "data", port)
            ),
        )

    def start_prometheus(
        self,
        api_urls: list[str],
        ca_file: Path,
        emulators: Mapping[str, Mapping[str, Any]],
        timeout: float,
    ) -> None:
        """Start Prometheus on the API processes' own addresses (never the ingress, as a real
        one scrapes pods) and the vLLM emulator; do not wait for it."""
        binary = self._binaries.get("prometheus")
        if binary is None:
            return
        alertmanager = self._launches.get("alertmanager")
        if alertmanager is not None:
            with httpx.Client(timeout=PROBE_TIMEOUT_S) as http:
                # Long ready by now; its final port is what Prometheus must be told.
                alertmanager.finish(http, timeout)
        vllm = emulators.get("vllm", {}).get("url")
        settings, directory = self.settings, self._directory("prometheus")
        config = prometheus_config(
            api_addresses=[urlsplit(url).netloc for url in api_urls],
            api_scheme=urlsplit(api_urls[0]).scheme,
            ca_file=ca_file,
            rule_files=list(settings.alert_rules),
            scrape_interval_s=settings.scrape_interval_s,
            evaluation_interval_s=settings.evaluation_interval_s,
            alertmanager_address=urlsplit(alertmanager.url).netloc if alertmanager else None,
            vllm_address=urlsplit(str(vllm)).netloc if vllm else None,
        )
        config_file = directory / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        self.info.prometheus_config = config_file
        self.info.rule_files = list(settings.alert_rules)
        argv = functools.partial(
            prometheus_argv,
            binary,
            config_file,
            directory / "data",
            retention=settings.prometheus_retention,
            resend_s=settings.evaluation_interval_s,
        )
        self._launches["prometheus"] = _Launch(
            "prometheus", lambda port: self._process("prometheus", argv(port))
        )

    def wait_ready(self, timeout: float) -> MonitoringInfo:
        """Wait until every started part answers ``/-/ready``; return the ``stack.json`` entry."""
        with httpx.Client(timeout=PROBE_TIMEOUT_S) as http:
            for launch in self._launches.values():
                launch.finish(http, timeout)
        if "prometheus" in self._launches:
            self.info.prometheus_url = self._launches["prometheus"].url
        if "alertmanager" in self._launches:
            self.info.alertmanager_url = self._launches["alertmanager"].url
        self.info.pids = {
            name: pid for name, launch in self._launches.items() if (pid := launch.process.pid)
        }
        return self.info

    def processes(self) -> list[ManagedProcess]:
        return [launch.process for launch in self._launches.values()]

    def stop(self, timeout: float) -> None:
        """Stop Prometheus and Alertmanager (in parallel), then the receiver."""
        stop_all(self.processes(), timeout)
        if self._receiver is not None:
            self._receiver.stop()
            self._receiver = None
