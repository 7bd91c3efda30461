"""``Stack``: boots the parts in order, publishes ``stack.json``, stops everything on the way out.

Order: TLS and keys, the datastore, auxiliary services (emulators), the API processes, the ingress
in front of them (``ingress.py``, where nginx runs), the workers. Stop is the reverse (the ingress
first, then workers and API together), so that draining workers still reach the datastore.
Monitoring (``monitoring.py``) starts alongside and is only waited for at the end; it stops first.
One lock guards the processes and ``info`` because the supervisor thread restarts workers while a
check may be killing one.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import logging
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from service.stack import api
from service.stack.boot import Layout, boot_auxiliary, wait_for_workers, worker_process
from service.stack.documents import seed_documents
from service.stack.environment import (
    KEY_IDS,
    base_env,
    generate_keys,
    public_settings,
    service_env,
)
from service.stack.info import ApiProcessInfo, IngressInfo, StackInfo
from service.stack.ingestion import generate_ingest_secrets, ingest_env, poller_process
from service.stack.ingress import Ingress, find_nginx, trusted_proxy
from service.stack.monitoring import Monitoring
from service.stack.options import StackOptions
from service.stack.polling import StackError, wait_until
from service.stack.processes import ManagedProcess, stop_all
from service.stack.settings import StackSettings
from service.stack.snapshot import write_config_snapshot
from service.stack.supervisor import Supervisor
from service.stack.tls import TlsFiles, write_tls
from service.stack.valkey import Valkey, redis_answers

logger = logging.getLogger(__name__)


class Stack:
    """One local stack. ``start()`` boots it, ``stop()`` (idempotent) leaves no process behind."""

    def __init__(self, options: StackOptions, settings: StackSettings | None = None) -> None:
        self.options = options
        self.settings = settings if settings is not None else StackSettings()
        directory = options.directory or Path(tempfile.mkdtemp(prefix="preflight-stack-"))
        self.layout = Layout(directory.resolve())
        self._lock = threading.RLock()
        self._valkey: Valkey | None = None
        self._apis: dict[str, ManagedProcess] = {}
        self._api_count = 1  # decided at boot, once it is known whether the ingress runs
        self._ingress: Ingress | None = None
        self._auxiliary: dict[str, ManagedProcess] = {}
        self._workers: dict[str, ManagedProcess] = {}
        self._supervisor: Supervisor | None = None
        self._monitoring: Monitoring | None = None
        self._info: StackInfo | None = None
        self._published = False
        self._stopped = False

    @property
    def info(self) -> StackInfo:
        """The live description; the same object is updated in place when a worker restarts."""
        if self._info is None:
            raise RuntimeError("the stack has not been started")
        return self._info

    def start(self) -> StackInfo:
        """Boot everything and return once the API and every worker are up; clean up on failure."""
        atexit.register(self.stop)
        try:
            self._boot(time.monotonic() + self.options.startup_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self.info

    def _boot(self, deadline: float) -> None:
        def left() -> float:
            return max(0.1, deadline - time.monotonic())

        layout, options = self.layout, self.options
        layout.create()
        if options.json_out is not None:
            options.json_out.unlink(missing_ok=True)
        nginx, no_ingress = find_nginx(options, self.settings)
        self._api_count = options.api_process_count(ingress=nginx is not None)
        if nginx is None and self._api_count > 1:
            raise StackError(f"{self._api_count} API processes need the ingress: {no_ingress}")
        tls = write_tls(layout.tls, options.cert_days)
        keys = options.keys or generate_keys()
        ingest_secrets = generate_ingest_secrets()
        env = base_env()
        self._monitoring = monitoring = Monitoring(
            layout, self.settings, env, enabled=options.monitoring
        )
        monitoring.start_alertmanager()
        redis_url = options.redis_url or self.settings.redis_url
        if redis_url is None:
            self._valkey = Valkey(layout.valkey, layout.logs, env)
            self._valkey.start(left())
            redis_url = self._valkey.url
        else:
            wait_until(lambda: redis_answers(str(redis_url)), timeout=left(), what=redis_url)
        emulators, aux_env = boot_auxiliary(layout, env, self._auxiliary, left)
        env.update(
            service_env(
                keys=keys,
                redis_url=redis_url,
                stack_dir=layout.root,
                environment=options.environment,
                extra={**aux_env, **ingest_env(ingest_secrets)},
                overrides=options.override_env(),
            )
        )
        if nginx is not None:
            self._ingress = Ingress(nginx, layout, env, options, tls.cert_file, tls.key_file)
        http = api.client(tls.ca_file, ignore_expiry=options.cert_days <= 0)
        try:
            names = [f"worker-{n}" for n in range(1, options.workers + 1)]
            pollers = [f"poller-{n}" for n in range(1, options.pollers + 1)]
            api_urls = self._launch_api_seeded(tls, env, names, pollers, left)
            monitoring.start_prometheus(list(api_urls.values()), tls.ca_file, emulators, left())
            url = self._start_ingress(http, api_urls, left())
            managed = self._valkey is not None
            self._info = StackInfo(
                url=url,
                ca_file=tls.ca_file,
                environment=options.environment,
                dir=layout.root,
                redis_url=redis_url,
                keys=keys,
                key_ids=KEY_IDS,
                logs=self._logs(names + pollers, managed_redis=managed),
                settings=public_settings(env),
                emulators=emulators,
                workers=names,
                restarts=dict.fromkeys(names + pollers, 0),
                managed_redis=managed,
                pollers=pollers,
                webhook_secrets=ingest_secrets,
                cert_file=tls.cert_file,
                cert_not_after=tls.not_after.isoformat(),
                started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                api=[ApiProcessInfo(name=n, url=u) for n, u in api_urls.items()],
                ingress=self._ingress.info if self._ingress else IngressInfo(skipped=no_ingress),
            )
            with self._lock:
                self._supervisor = Supervisor(
                    self._workers,
                    restart=options.restart_workers,
                    lock=self._lock,
                    on_restart=self._worker_restarted,
                )
                self._supervisor.start()
            wait_for_workers(
                http,
                url,
                list(self._apis.values()),
                self._workers,
                self._supervisor,
                count=options.workers,
                timeout=left(),
                max_restarts=self.settings.max_startup_restarts,
            )
            self.info.config_snapshot = write_config_snapshot(http, url, keys.admin, layout.root)
            self.info.monitoring = monitoring.wait_ready(left())
        finally:
            http.close()
        with self._lock:
            self._refresh_pids()
            self._published = True
            self._publish()

    def _launch_api_seeded(
        self,
        tls: TlsFiles,
        env: dict[str, str],
        workers: list[str],
        pollers: list[str],
        left: Callable[[], float],
    ) -> dict[str, str]:
        """Boot the API processes and meanwhile seed the document store, then start workers and
        pollers (supervised once the stack is described); return each API process's own URL.

        Side by side, the boot waits for the slowest instead of the sum. The API opens the
        store on first use and nothing reaches it while it boots, so the seed (which migrates
        the store) races nobody; workers and pollers, which write documents, start after it. A
        broken configuration is still reported by the API's own start: its error wins. Behind
        the ingress each process serves plain HTTP and trusts the ingress's address only.
        """
        layout, options = self.layout, self.options
        names = ["api", *(f"api-{n}" for n in range(2, self._api_count + 1))]
        proxy = trusted_proxy(self._ingress)
        own_tls = None if self._ingress is not None else tls

        def launch(name: str) -> tuple[ManagedProcess, str]:
            # A client per thread: the probes run concurrently.
            with api.client(tls.ca_file, ignore_expiry=options.cert_days <= 0) as http:
                return api.launch(
                    http,
                    name,
                    own_tls,
                    env,
                    layout.out(name),
                    layout.root,
                    left(),
                    trusted_proxy=proxy,
                )

        urls: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="boot-api") as pool:
            launches = {name: pool.submit(launch, name) for name in names}
            try:
                seed_documents(env, layout.root, left())
                with self._lock:
                    for name in workers:
                        self._workers[name] = worker_process(layout, env, name)
                        self._workers[name].start()
                    for name in pollers:  # supervised like workers: restarted when they die
                        self._workers[name] = poller_process(layout, env, name)
                        self._workers[name].start()
            finally:
                # Whatever happened meanwhile, a started API must be known to stop().
                for name, future in launches.items():
                    with contextlib.suppress(Exception):
                        self._apis[name], urls[name] = future.result()
                for future in launches.values():
                    future.result()  # the first failure, if any, is the boot's error
        return urls

    def _start_ingress(self, http: httpx.Client, api_urls: dict[str, str], timeout: float) -> str:
        """The public URL: the ingress's in front of the API processes, else the API's own."""
        if self._ingress is None:
            return next(iter(api_urls.values()))
        upstreams = [urlsplit(url).netloc for url in api_urls.values()]
        return self._ingress.start(http, upstreams, timeout)

    def _logs(self, workers: list[str], *, managed_redis: bool) -> dict[str, Path]:
        """``stack.json`` ``logs``: the layout's, each API process's output, the ingress's."""
        layout = self.layout
        assert self._monitoring is not None
        auxiliary = [*self._auxiliary, *self._monitoring.names]
        logs = layout.logs_map(workers, auxiliary, managed_redis=managed_redis)
        logs.update({f"{name}.out": layout.out(name) for name in self._apis})
        if self._ingress is not None:
            logs.update(self._ingress.logs)
        return logs

    def _refresh_pids(self) -> None:
        pids = {"stack": os.getpid()}
        parts: dict[str, ManagedProcess | None] = {
            **self._apis,
            "valkey": self._valkey.process if self._valkey else None,
            **self._auxiliary,
            **self._workers,
        }
        pids.update({name: p.pid for name, p in parts.items() if p is not None and p.pid})
        self.info.pids = pids

    def _publish(self) -> None:
        """Rewrite stack.json (and the --json-out copy) once the stack has been announced."""
        if not self._published or self._info is None:
            return
        self._info.save()
        if self.options.json_out is not None:
            self._info.save(self.options.json_out)

    def _worker_restarted(self, name: str, proc: ManagedProcess) -> None:
        # Called by the supervisor with the lock held.
        if self._info is None or self._supervisor is None:
            return
        self._info.restarts[name] = self._supervisor.restarts[name]
        self._refresh_pids()
        self._publish()
        logger.warning("%s restarted as pid %s", name, proc.pid)

    def stop(self) -> None:
        """Stop the ingress, workers and API, then auxiliary services, then the datastore; safe
        to call twice.

        The ingress goes first, so no new request reaches an API process that is stopping.
        Workers and API stop side by side (neither needs the other to drain, both still reach
        the datastore); pollers may still be talking to an emulator, so those go after.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        timeout = self.settings.stop_timeout_s
        if self._monitoring is not None:
            self._monitoring.stop(timeout)
        if self._ingress is not None:
            self._ingress.stop(timeout)
        if self._supervisor is not None:
            self._supervisor.stop()
        stop_all([*self._workers.values(), *self._apis.values()], timeout)
        stop_all(self._auxiliary.values(), timeout)
        if self._valkey is not None:
            self._valkey.stop(timeout)
        atexit.unregister(self.stop)

    # --- fault injection (for checks and self-tests) ----------------------------------------

    def kill_worker(self, name: str, signum: int = signal.SIGKILL) -> int:
        """Send ``signum`` to worker ``name``; return its pid (the supervisor restarts it)."""
        with self._lock:
            proc = self._workers[name]
            pid = proc.pid
            if pid is None or not proc.alive():
                raise StackError(f"{name} is not running")
            proc.signal(signum)
            return pid

    def wait_for_worker_restart(self, name: str, old_pid: int, timeout: float = 30.0) -> int:
        """Wait until worker ``name`` runs with a pid other than ``old_pid``; return the new one."""

        def restarted() -> bool:
            with self._lock:
                return self._workers[name].alive() and self._workers[name].pid != old_pid

        wait_until(restarted, timeout=timeout, what=f"{name} to be restarted")
        return self.info.pids[name]

    def stop_workers(self, names: list[str] | None = None) -> None:
        """Stop workers on purpose (SIGTERM, bounded); the supervisor leaves them stopped."""
        assert self._supervisor is not None, "the stack has not been started"
        chosen = names if names is not None else list(self._workers)
        with self._lock:
            for name in chosen:
                self._supervisor.pause(name)
        stop_all([self._workers[n] for n in chosen], self.settings.stop_timeout_s)

    def start_workers(self, names: list[str] | None = None) -> None:
        """Start workers stopped by ``stop_workers`` and supervise them again."""
        assert self._supervisor is not None, "the stack has not been started"
        with self._lock:
            for name in names if names is not None else list(self._workers):
                proc = self._workers[name]
                if not proc.alive():
                    proc.start()
                self._supervisor.resume(name)
            self._refresh_pids()
            self._publish()

    def stop_redis(self) -> None:
        """Stop the stack's Valkey (SIGTERM: the append-only file is flushed)."""
        self._managed_valkey().stop(self.settings.stop_timeout_s)

    def start_redis(self) -> None:
        """Start Valkey again on the same port and directory (its AOF is replayed)."""
        valkey = self._managed_valkey()
        valkey.start(self.options.startup_timeout_s)
        with self._lock:
            self._refresh_pids()
            self._publish()

    def _managed_valkey(self) -> Valkey:
        if self._valkey is None:
            raise StackError("this stack uses an external Redis; it cannot stop or start it")
        return self._valkey
