"""Load Testing: concurrent users within SLO, error share by endpoint, queues that keep up.

One bounded run of ``[performance] users`` users (health, enqueue, status) decides
load.error-rate and, for the API's endpoints, load.concurrent-users (whose LLM traffic, the
declared workload and its capacity, is judged in ``test_declared_workload.py``). The queue
check enqueues at the expected arrival rate and watches the depth the target reports: a queue
that keeps up never builds a backlog.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.reports.charts import line_chart
from acceptance.settings import SuiteConfig
from acceptance.support.api import health
from acceptance.support.loadgen import Call, LoadResult, run_load
from acceptance.support.observe import NOOP, api_calls, http_client
from service.waiting import poll_until


@pytest.fixture(scope="module")
def user_load(target: Target, config: SuiteConfig) -> LoadResult:
    perf = config.performance
    return run_load(
        target,
        api_calls(target),
        users=perf.users,
        duration_s=perf.load_s,
        timeout_s=config.http_timeout_s,
    )


@pytest.mark.checklist("load.concurrent-users")
def test_concurrent_users_within_slo(
    user_load: LoadResult, config: SuiteConfig, evidence: Evidence
) -> None:
    """The configured users for a bounded time: error share and p95 latency within SLO."""
    perf, overall = config.performance, user_load.stats()
    per_endpoint = {n: user_load.stats(n) for n in user_load.names()}
    evidence.add(
        users=perf.users,
        duration_s=round(user_load.wall_s, 2),
        overall=overall,
        endpoints=per_endpoint,
        p95_slo_ms=perf.load_p95_ms,
        error_budget=config.slo.error_rate_max,
        latency_chart=line_chart(
            "p95 latency under load",
            user_load.p95_series(),
            x_label="time since start (s)",
            y_label="p95 latency (ms)",
            hlines={"SLO p95": perf.load_p95_ms},
        ),
    )
    assert overall["requests"], "the load produced no request"
    assert overall["error_share"] <= config.slo.error_rate_max, (
        f"error share {overall['error_share']} above {config.slo.error_rate_max}"
    )
    slow = {
        n: s["p95_ms"] for n, s in per_endpoint.items() if (s["p95_ms"] or 0) > perf.load_p95_ms
    }
    assert not slow, f"p95 under load above {perf.load_p95_ms} ms: {slow}"


@pytest.mark.checklist("load.error-rate")
def test_error_share_by_endpoint(
    user_load: LoadResult, config: SuiteConfig, evidence: Evidence
) -> None:
    """Under load every endpoint's error share (5xx, timeouts, refused connections) is in budget."""
    budget = config.slo.error_rate_max
    shares = {n: user_load.stats(n) for n in user_load.names()}
    evidence.add(
        error_share={n: s["error_share"] for n, s in shares.items()},
        errors={n: s["errors"] for n, s in shares.items()},
        requests={n: s["requests"] for n, s in shares.items()},
        limited={n: s["limited"] for n, s in shares.items()},
        budget=budget,
    )
    over = {n: s["error_share"] for n, s in shares.items() if (s["error_share"] or 0) > budget}
    assert not over, f"error share above {budget}: {over}"


class DepthWatcher:
    """Samples queue depths from /health in a thread while the arrivals run."""

    def __init__(self, client: httpx.Client, interval: float) -> None:
        self.client, self.interval = client, interval
        self.points: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="depths", daemon=True)
        self._t0 = time.monotonic()

    def depths(self) -> dict[str, int]:
        found = health(self.client)["components"]["queues"].get("depths") or {}
        return {q: int(found.get(q, 0)) for q in ("hot", "backfill")}

    def _run(self) -> None:
        while not self._stop.is_set():
            self.points.append((time.monotonic() - self._t0, self.depths()))
            self._stop.wait(self.interval)

    def __enter__(self) -> DepthWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.points.append((time.monotonic() - self._t0, self.depths()))


@pytest.mark.checklist("load.queue-bottleneck")
def test_queues_drain_at_expected_arrival_rate(
    target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """Jobs arriving at the expected rate: depth does not grow, and the queue is empty after."""
    perf = config.performance
    # The second key when there is one: this module's user load has just spent the first key's
    # budget, and a check of the queue need not wait out that key's window before it starts.
    key = target.api_key_2 or target.api_key
    if key is None:
        not_verified("no API key (use --api-key or PREFLIGHT_API_KEY)")
    arrivals = [Call("enqueue", "POST", "/enqueue", json=NOOP, key=key)]
    with http_client(target, config) as anon:
        with DepthWatcher(anon, interval=0.2) as watcher:
            load = run_load(
                target,
                arrivals,
                users=4,
                duration_s=perf.bottleneck_s,
                timeout_s=config.http_timeout_s,
                rps=perf.arrival_rate_per_s,
            )
        points = watcher.points
        first, last = points[0][1], points[-1][1]
        growth = {q: last[q] - first[q] for q in first}
        evidence.add(
            arrival_rate_per_s=perf.arrival_rate_per_s,
            accepted=load.stats()["statuses"],
            depth_growth=growth,
            depth_growth_max=perf.depth_growth_max,
            depth_chart=line_chart(
                "Queue depth while jobs arrive",
                {q: [[round(t, 2), d[q]] for t, d in points] for q in first},
                x_label="time since start (s)",
                y_label="jobs waiting",
            ),
        )
        assert load.stats()["statuses"].get("202"), "no job was accepted"
        grown = {q: g for q, g in growth.items() if g > perf.depth_growth_max}
        assert not grown, f"queue depth grew over the run: {grown}"
        drained = poll_until(
            lambda: all(d <= first[q] for q, d in watcher.depths().items()),
            timeout=perf.drain_timeout_s,
            interval=0.2,
            message="queues to drain",
        )
        evidence.add(drained=drained)
