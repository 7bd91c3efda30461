"""Ground truth about the stack's processes from /proc: CPU time, resident memory, start time.

Only for a stack the suite can see (stack.json pids on this machine). Sampling is a background
thread with a fixed period: the figures are rates and slopes over a window, so a check starts the
sampler, applies its load, stops the sampler and reads the series.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
# stack.json names the process that booted the stack "stack": that may be the suite itself.
NOT_SERVICE = frozenset({"stack"})


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may contain spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of the process so far; None when it is gone."""
    fields = _stat_fields(pid)
    # After the name: state is fields[0], so utime (14th overall) is fields[11], stime fields[12].
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int | None:
    """Resident set size; None when the process is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[21]) * PAGE_BYTES


def start_ticks(pid: int) -> int | None:
    """Start time in clock ticks since boot: a changed value means the pid was reused."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def service_pids(stack: Any) -> dict[str, int]:
    """Every service process of the stack (API, workers, Valkey, emulators), by name."""
    return {name: pid for name, pid in stack.pids.items() if name not in NOT_SERVICE}


@dataclass
class Series:
    """Samples of one process: (seconds since start, CPU seconds, RSS bytes)."""

    points: list[tuple[float, float, int]] = field(default_factory=list)
    # Fewest samples a slope is fitted to: /proc is sampled densely, so three; Prometheus' scrapes
    # are seconds apart and its series always spans the window, so its two are enough.
    min_points: int = 3

    def cpu_percent(self) -> float | None:
        """Average CPU over the series, in percent of one core."""
        if len(self.points) < 2:
            return None
        (t0, c0, _), (t1, c1, _) = self.points[0], self.points[-1]
        return 100.0 * (c1 - c0) / (t1 - t0) if t1 > t0 else None

    def rss_slope_mb_per_min(self, after_s: float = 0.0) -> float | None:
        """Least-squares slope of RSS over the samples taken after ``after_s``."""
        pts = [(t, rss / 2**20) for t, _, rss in self.points if t >= after_s]
        if len(pts) < self.min_points:
            return None
        mean_t = sum(t for t, _ in pts) / len(pts)
        mean_m = sum(m for _, m in pts) / len(pts)
        var = sum((t - mean_t) ** 2 for t, _ in pts)
        cov = sum((t - mean_t) * (m - mean_m) for t, m in pts)
        return 60.0 * cov / var if var else None

    def rss_mb(self) -> list[list[float]]:
        """[[t, MB], ...] for charts."""
        return [[round(t, 2), round(rss / 2**20, 2)] for t, _, rss in self.points]


class Sampler:
    """Samples CPU and RSS of ``pids`` every ``interval`` s in a thread; a context manager."""

    def __init__(self, pids: dict[str, int], interval: float) -> None:
        self.pids = pids
        self.interval = interval
        self.series: dict[str, Series] = {name: Series() for name in pids}
        self.gone: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="procstat", daemon=True)
        self._t0 = time.monotonic()

    def __enter__(self) -> Sampler:
        self._t0 = time.monotonic()
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        now = time.monotonic() - self._t0
        for name, pid in self.pids.items():
            cpu, rss = cpu_seconds(pid), rss_bytes(pid)
            if cpu is None or rss is None:
                self.gone.add(name)
            else:
                self.series[name].points.append((now, cpu, rss))
