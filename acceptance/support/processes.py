"""CPU and memory of every platform process over a window: from ``/proc`` or from Prometheus.

``with ProcessWatch(target, config, interval) as watch: <apply load>`` and afterwards
``watch.series`` holds one ``procstat.Series`` per process. With the reference stack's pids the
figures are sampled from ``/proc`` during the block (ground truth); without pids they are read
from the deployment's Prometheus for the block's window after it ended
(``acceptance/support/prometheus_series.py``). With neither, ``watch.missing`` names the setting
that would give them; a check then ends not verified.
"""

from __future__ import annotations

import time
from typing import Any

from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.monitoring import monitoring
from acceptance.support.procstat import Sampler, Series, service_pids
from acceptance.support.prometheus_series import PrometheusError, process_series, selector

NO_PROMETHEUS = (
    "no process figures: no stack pids and no Prometheus "
    "(set [postdeploy] prometheus_url, PREFLIGHT_POSTDEPLOY__PROMETHEUS_URL)"
)


class ProcessWatch:
    """Figures of the platform's processes over the ``with`` block."""

    def __init__(self, target: Target, config: SuiteConfig, interval: float) -> None:
        pids = service_pids(target.stack) if target.stack is not None else {}
        self.config = config
        self.sampler = Sampler(pids, interval) if pids else None
        self.prometheus = None if pids else monitoring(target, config).prometheus
        self.series: dict[str, Series] = {}
        self.gone: set[str] = set()
        self.missing: str | None = None if pids or self.prometheus else NO_PROMETHEUS
        self.source = "/proc (stack pids)" if pids else f"Prometheus {self.prometheus}"
        self.started = 0.0

    def __enter__(self) -> ProcessWatch:
        self.started = time.time()
        if self.sampler is not None:
            self.sampler.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sampler is not None:
            self.sampler.__exit__(*exc)
            self.series, self.gone = self.sampler.series, set(self.sampler.gone)
        elif self.prometheus is not None:
            self._from_prometheus(self.prometheus, time.time())

    def _from_prometheus(self, prometheus: str, ended: float) -> None:
        try:
            self.series, fresh = process_series(prometheus, self.config, self.started, ended)
        except PrometheusError as exc:
            self.missing = f"no process figures: {exc}"
            return
        wanted = selector(self.config, "process_resident_memory_bytes")
        if not self.series:
            self.missing = f"no process figures: {prometheus} holds no {wanted}"
        elif not fresh:
            self.missing = (
                f"no process figures: {prometheus} took no sample of {wanted} within "
                f"[monitoring] sample_wait_s ({self.config.monitoring.sample_wait_s:g} s)"
            )
        else:  # a process whose series stops before the window's end is gone
            span = ended - self.started
            self.gone = {n for n, s in self.series.items() if _last_t(s) < span}

    def evidence(self) -> dict[str, Any]:
        return {"source": self.source, "processes": sorted(self.series)}


def _last_t(series: Series) -> float:
    return series.points[-1][0] if series.points else float("-inf")
