"""Boot steps that are not about one process: the directory layout, emulators, worker readiness."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from service.stack import api
from service.stack.components import AuxiliaryContext, AuxiliaryService, enabled_services
from service.stack.environment import PYTHON
from service.stack.polling import wait_until
from service.stack.processes import ManagedProcess, launch_on_free_port
from service.stack.supervisor import Supervisor


@dataclass(frozen=True)
class Layout:
    """Where a stack keeps its things, all under one directory (mode 0700: it holds keys)."""

    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def valkey(self) -> Path:
        return self.root / "valkey"

    def out(self, name: str) -> Path:
        """The file that receives a child's stdout and stderr."""
        return self.logs / f"{name}.out"

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        for sub in (self.logs, self.data, self.tls, self.valkey):
            sub.mkdir(exist_ok=True)
        # A reused directory: whoever waits for stack.json must not find the previous stack's.
        (self.root / "stack.json").unlink(missing_ok=True)

    def logs_map(
        self, workers: list[str], auxiliary: list[str], *, managed_redis: bool
    ) -> dict[str, Path]:
        """``stack.json`` ``logs``: the service's own JSON logs and every child's captured output.

        ``app.log``/``access.log`` are written by the API (``service/logs.py``: ``<process>.log``),
        ``<worker-id>.log`` by each worker; ``*.out`` is what the stack captured from stdout/stderr.
        """
        logs: dict[str, Path] = {
            "app": self.logs / "app.log",
            "access": self.logs / "access.log",
            "api.out": self.out("api"),
        }
        for name in workers:
            logs[name] = self.logs / f"{name}.log"
            logs[f"{name}.out"] = self.out(name)
        for name in auxiliary:
            logs[f"{name}.out"] = self.out(name)
        if managed_redis:
            logs["valkey"] = self.logs / "valkey.log"
        return logs


def _http_ready(http: httpx.Client, path: str, port: int) -> bool:
    try:
        return http.get(f"http://127.0.0.1:{port}{path}").status_code < 500
    except httpx.HTTPError:
        return False


def boot_auxiliary(
    layout: Layout,
    env: Mapping[str, str],
    started: dict[str, ManagedProcess],
    time_left: Callable[[], float],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Start every registered auxiliary service; return stack.json entries and service env.

    They start in parallel (each is a Python process that spends most of its start-up importing,
    so one after the other cost a second per emulator), but their entries and environments are
    merged in registration order, which the provider and egress lists rely on. Every process
    that started is added to ``started`` before any failure is raised, so that the stack's stop
    still ends it.
    """
    services = enabled_services()
    with ThreadPoolExecutor(max_workers=max(1, len(services))) as pool:
        futures = [pool.submit(_launch, service, layout, env, time_left) for service in services]
    entries: dict[str, dict[str, Any]] = {}
    service_env: dict[str, str] = {}
    failures: list[Exception] = []
    for service, future in zip(services, futures, strict=True):
        try:
            proc, port = future.result()
        except Exception as exc:  # collected: every started process is recorded first
            failures.append(exc)
            continue
        started[service.name] = proc
        ctx = _context(service, layout, port)
        entries[service.name] = service.info(ctx)
        service_env.update(service.service_env(ctx))
    if failures:
        raise failures[0]
    return entries, service_env


def _launch(
    service: AuxiliaryService,
    layout: Layout,
    env: Mapping[str, str],
    time_left: Callable[[], float],
) -> tuple[ManagedProcess, int]:
    # One HTTP client per thread: readiness probes run concurrently.
    with httpx.Client(timeout=api.PROBE_TIMEOUT_S) as http:
        return launch_on_free_port(
            functools.partial(_build_auxiliary, service, layout, env),
            functools.partial(_http_ready, http, service.ready_path),
            timeout=time_left(),
            what=f"emulator {service.name}",
        )


def _context(service: AuxiliaryService, layout: Layout, port: int) -> AuxiliaryContext:
    return AuxiliaryContext(
        name=service.name,
        port=port,
        python=PYTHON,
        stack_dir=layout.root,
        logs_dir=layout.logs,
        data_dir=layout.data,
    )


def _build_auxiliary(
    service: AuxiliaryService, layout: Layout, env: Mapping[str, str], port: int
) -> ManagedProcess:
    ctx = _context(service, layout, port)
    return ManagedProcess(
        service.name,
        service.argv(ctx),
        env={**env, **service.child_env(ctx)},
        log_path=layout.out(service.name),
        cwd=layout.root,
    )


def worker_process(layout: Layout, env: Mapping[str, str], name: str) -> ManagedProcess:
    """A worker child (not started yet); its id is its name, e.g. ``worker-1``."""
    argv = [PYTHON, "-m", "service.jobs.worker", "--worker-id", name]
    return ManagedProcess(name, argv, env=env, log_path=layout.out(name), cwd=layout.root)


def wait_for_workers(
    http: httpx.Client,
    url: str,
    api_processes: Sequence[ManagedProcess],
    workers: Mapping[str, ManagedProcess],
    supervisor: Supervisor,
    *,
    count: int,
    timeout: float,
    max_restarts: int,
) -> None:
    """Poll ``GET /health`` until ``components.workers.alive >= count``.

    Gives up early, with the log tail of the culprit, when an API process exits or a worker keeps
    crashing (restarted more than ``max_restarts`` times while booting).
    """
    if count == 0:
        return

    def abort() -> str | None:
        for api_process in api_processes:
            reason = api_process.exit_reason()
            if reason is not None:
                return reason
        for name, n in supervisor.restarts.items():
            if n > max_restarts:
                return f"{name} crashed {n} times while booting\n{workers[name].log_tail()}"
        if not supervisor.restart:
            for proc in workers.values():
                reason = proc.exit_reason()
                if reason is not None:
                    return reason
        return None

    def healthy() -> bool:
        return api.workers_alive(api.health(http, url)) >= count

    wait_until(
        healthy,
        timeout=timeout,
        what=f"{count} worker heartbeat(s) in GET /health",
        abort=abort,
        interval=0.1,
    )
