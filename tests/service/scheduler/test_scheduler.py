"""The scheduler on real Valkey: one run per due slot across processes, records, failures,
lost runs, overdue judgement, and the workers running the platform's schedules."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from service.ingest.arxiv import ArxivClient, make_throttle
from service.ingest.poller import recorded_round
from service.keyspace import keys as c
from service.outbound.client import OutboundClient
from service.scheduler import state
from service.scheduler.health import scheduler_component
from service.scheduler.runner import Scheduler
from service.scheduler.view import views
from service.settings import Settings
from service.stack.ports import free_port
from service.waiting import apoll_until
from tests.support.jobs import connect, fresh_settings

REPO_ROOT = Path(__file__).resolve().parents[3]

CLAIM_PERIOD_S = 0.05  # the mechanism is the same at any period; short gives many slots


def _settings(redis_server: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "backup_period_s": 1.0,
        "retention_purge_period_s": 1.0,
        "scheduler_tick_s": 0.05,
        "scheduler_retry_s": 1.0,
        "scheduler_enabled": True,
    }
    values.update(overrides)
    return fresh_settings(redis_server, **values)


def test_two_processes_never_run_the_same_slot(redis_server: str, tmp_path: Path) -> None:
    """Two processes claiming one schedule for 2 s: every slot ran once, none twice, and never
    two slots within one period."""
    settings = _settings(redis_server, tmp_path)
    argv = [
        sys.executable,
        "-m",
        "tests.service.scheduler.schedule_claimer",
        settings.redis_url,
        "race",
        str(CLAIM_PERIOD_S),
        "2.0",
    ]
    procs = [
        subprocess.Popen([*argv, f"p{n}"], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        for n in (1, 2)
    ]
    lines = []
    for proc in procs:
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        lines += [json.loads(line) for line in out.splitlines()]
    counts = Counter(line["run_id"] for line in lines)
    assert counts and max(counts.values()) == 1, counts.most_common(3)
    # At most one run per period: consecutive slots are a period apart or more.
    slots = sorted(float(run_id.partition("@")[2]) for run_id in counts)
    assert len(slots) >= 10, len(slots)
    assert min(b - a for a, b in pairwise(slots)) >= CLAIM_PERIOD_S - 1e-6
    assert {line["holder"] for line in lines} == {"p1", "p2"}  # both really competed


def test_claim_records_run_and_moves_due(redis_server: str, tmp_path: Path) -> None:
    """A claim takes the slot once; finish records outcome, duration, last success; a stale
    token is refused."""
    settings = _settings(redis_server, tmp_path)

    async def body() -> None:
        async with connect(settings) as r:
            run = await state.claim(r, "backup", 60.0, "w1", lease_s=5.0)
            assert run is not None and run.next_due_at == run.started_at + 60.0
            assert await state.claim(r, "backup", 60.0, "w2", lease_s=5.0) is None  # leased
            assert await state.finish(r, run, "succeeded", result={"documents": 3})
            assert await state.claim(r, "backup", 60.0, "w2", lease_s=5.0) is None  # not due
            assert not await state.finish(
                r, state.Run("backup", "x", "stale", 0.0, None), "failed", error="late"
            )
            now, records = await state.read_all(r, ["backup"])
            record = records["backup"]
            assert record["outcome"] == "succeeded" and record["state"] == "idle"
            assert float(record["last_success_at"]) <= now
            assert json.loads(record["result"]) == {"documents": 3}
            assert not await r.exists(c.schedule_lease_key("backup"))

    asyncio.run(body())


def test_lost_run_recorded_by_next_claim(redis_server: str, tmp_path: Path) -> None:
    """A run whose process died (lease expired, no outcome) is recorded as lost, then rerun."""
    settings = _settings(redis_server, tmp_path)

    async def body() -> None:
        async with connect(settings) as r:
            first = await state.claim(r, "purge", 0.1, "w1", lease_s=0.2)
            assert first is not None
            second = await apoll_until(
                lambda: state.claim(r, "purge", 0.1, "w2", lease_s=5.0),
                timeout=10,
                interval=0.02,
                message="the lease to expire",
            )
            record = (await state.read_all(r, ["purge"]))[1]["purge"]
            assert record["outcome"] == "lost" and record["failures"] == "1"
            assert record["holder"] == "w2" and second.run_id != first.run_id

    asyncio.run(body())


def test_overdue_judgement(redis_server: str, tmp_path: Path) -> None:
    """Declared and never run: ok until one period x (factor - 1) + a tick after it was due."""
    settings = _settings(redis_server, tmp_path, backup_period_s=100.0)
    declared = {"backup": {"declared_at": "1000.0"}}
    grace = 100.0 * (settings.scheduler_overdue_factor - 1) + settings.scheduler_tick_s

    def backup_view(now: float, records: dict[str, dict[str, str]]) -> Any:
        return next(v for v in views(settings, now, records) if v.schedule.name == "backup")

    assert backup_view(1000.0 + grace - 1, declared).ok
    late = backup_view(1000.0 + grace + 1, declared)
    assert late.overdue and not late.ok
    running = {"backup": {"state": "running", "started_at": "1000.0"}}
    assert backup_view(1000.0 + settings.scheduler_run_timeout_s + 1, running).overdue
    failed = {"backup": {"outcome": "failed", "next_due_at": "2000.0"}}
    assert not backup_view(1500.0, failed).ok


@asynccontextmanager
async def _workers(settings: Settings) -> AsyncIterator[Redis]:
    """Two schedulers (one per 'worker', own connections) ticking until the block ends; yields
    a third connection to observe them with."""
    stopping = asyncio.Event()
    clients = [Redis.from_url(settings.redis_url, decode_responses=True) for _ in range(3)]
    loops = [
        asyncio.create_task(Scheduler(client, settings, f"w{n}").run(stopping))
        for n, client in enumerate(clients[:2])
    ]
    try:
        yield clients[2]
    finally:
        stopping.set()
        await asyncio.wait_for(asyncio.gather(*loops), 15)
        for client in clients:
            await client.aclose()


async def _schedule(r: Redis, settings: Settings, name: str) -> dict[str, Any]:
    component = await scheduler_component(settings, r)
    report: dict[str, Any] = component["schedules"][name]
    return report


def test_workers_run_backup_and_purge_once_per_period(redis_server: str, tmp_path: Path) -> None:
    """Two workers with 1 s periods: each schedule runs at start and then once per period (never
    twice for a slot), and health reports both ok."""
    settings = _settings(redis_server, tmp_path)

    async def body() -> None:
        started = time.monotonic()
        async with _workers(settings) as r:
            for name in ("backup", "retention_purge"):
                await apoll_until(
                    lambda n=name: _runs_at_least(r, settings, n, 3),
                    timeout=20,
                    interval=0.02,
                    message=f"three runs of {name}",
                )
            elapsed = time.monotonic() - started
            component = await scheduler_component(settings, r)
        for name in ("backup", "retention_purge"):
            report = component["schedules"][name]
            assert report["outcome"] == "succeeded" and report["ok"], report
            assert report["runs"] <= elapsed / 1.0 + 1, (report["runs"], elapsed)
        backups = sorted((tmp_path / "data" / "backups").glob("documents-*.sqlite3"))
        assert len(backups) == min(component["schedules"]["backup"]["runs"], settings.backup_keep)
        assert component["status"] == "ok", component["not_ok"]

    asyncio.run(body())


async def _runs_at_least(r: Redis, settings: Settings, name: str, runs: int) -> bool:
    report = await _schedule(r, settings, name)
    return report["runs"] >= runs and report["state"] == "idle"


def test_failing_backup_recorded_retried_and_degraded(redis_server: str, tmp_path: Path) -> None:
    """A backup directory that cannot be created: the run fails with the error, is tried again
    after the retry delay (not the 60 s period), and the scheduler component is degraded."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings = _settings(
        redis_server, tmp_path, backup_dir=blocker / "backups", backup_period_s=60.0
    )

    async def body() -> None:
        async with _workers(settings) as r:
            await apoll_until(
                lambda: _failures_at_least(r, settings, 2),
                timeout=20,
                interval=0.02,
                message="the backup to fail twice",
            )
            component = await scheduler_component(settings, r)
        report = component["schedules"]["backup"]
        assert report["outcome"] == "failed" and "NotADirectoryError" in report["error"]
        assert report["last_success_at"] is None
        assert component["status"] == "degraded" and component["not_ok"] == ["backup"]

    asyncio.run(body())


async def _failures_at_least(r: Redis, settings: Settings, failures: int) -> bool:
    report = await _schedule(r, settings, "backup")
    return report["failures"] >= failures and report["state"] == "idle"


def test_scheduler_disabled_runs_nothing_and_degrades(redis_server: str, tmp_path: Path) -> None:
    """scheduler_enabled=false: the loops end at once, nothing runs, both schedules are listed
    as disabled with the reason, and the component is degraded."""
    settings = _settings(redis_server, tmp_path, scheduler_enabled=False)

    async def body() -> None:
        async with _workers(settings) as r:
            component = await scheduler_component(settings, r)
        backup = component["schedules"]["backup"]
        assert backup["runs"] == 0 and backup["enabled"] is False
        assert backup["disabled_reason"] == "scheduler_enabled is false"
        assert component["status"] == "degraded" and component["enabled"] is False

    asyncio.run(body())


def test_poll_round_recorded_as_failed_when_arxiv_unreachable(
    redis_server: str, tmp_path: Path
) -> None:
    """A round whose arXiv cannot be reached is a failed run of arxiv_poll (not a back-off),
    with the error and the next due time one interval after it ended."""
    port = free_port()  # nothing listens there: connection refused
    settings = _settings(
        redis_server,
        tmp_path,
        arxiv_url=f"http://127.0.0.1:{port}",
        egress_allowlist=[f"127.0.0.1:{port}"],
        arxiv_poll_interval_s=30.0,
    )

    async def body() -> None:
        async with connect(settings) as r:
            outbound = OutboundClient(settings, r)
            client = ArxivClient(settings, r, outbound, make_throttle(settings, r))
            try:
                await recorded_round(client, r, settings, "poller-test")
            finally:
                await outbound.aclose()
            report = await _schedule(r, settings, "arxiv_poll")
        assert report["outcome"] == "failed" and report["holder"] == "poller-test", report
        assert "127.0.0.1" in report["error"] and report["last_success_at"] is None
        finished = datetime.fromisoformat(report["last_finished_at"])
        due = datetime.fromisoformat(report["next_due_at"])
        assert abs((due - finished).total_seconds() - 30.0) < 0.01

    asyncio.run(body())
