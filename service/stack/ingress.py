"""The stack's ingress: Debian's nginx in front of the API processes, as production has one.

nginx runs as a child of the stack (``daemon off``, master process on, its own configuration,
pid file, temporary files and logs in ``<dir>/ingress`` and ``<dir>/logs``), on a free loopback
port with the stack's retry on a clash, and is called ready when ``GET /health/live`` answers
through it over HTTPS verified with the stack's CA, i.e. TLS, proxying and an API process all
work. It stops first (SIGTERM: nginx's fast shutdown, bounded like every child), so no request
reaches an API process that is going away.

Whether it runs (``StackOptions.ingress``): ``auto`` uses nginx where an executable of
``StackSettings.nginx_binaries`` is found and otherwise lets the API answer clients itself,
saying why in ``stack.json`` (``ingress.skipped``); ``nginx`` insists; ``none`` never.
"""

from __future__ import annotations

import functools
import logging
import os
import pwd
import shutil
from pathlib import Path

import httpx
from pydantic import ValidationError

from service.stack import api
from service.stack.boot import Layout
from service.stack.info import IngressInfo
from service.stack.ingress_config import (
    INGRESS_SOURCE_ADDRESS,
    IngressPaths,
    IngressPolicy,
    policy_from_env,
    render,
)
from service.stack.options import StackOptions
from service.stack.polling import StackError
from service.stack.processes import ManagedProcess, launch_on_free_port, stop_all
from service.stack.settings import StackSettings

logger = logging.getLogger(__name__)

NAME = "ingress"
INSTALL_HINT = "apt-get install nginx"


def find_nginx(options: StackOptions, settings: StackSettings) -> tuple[str | None, str | None]:
    """The nginx executable to run, or None and why not; an ingress asked for and missing
    is an error."""
    if options.ingress == "none":
        return None, "not asked for (--ingress none): the API answers clients itself"
    binary = next((p for p in map(shutil.which, settings.nginx_binaries) if p), None)
    if binary is not None:
        return binary, None
    why = f"no executable {settings.nginx_binaries} found ({INSTALL_HINT})"
    if options.ingress == "nginx":
        raise StackError(f"--ingress nginx: {why}")
    return None, f"not started: {why}; the API answers clients itself"


def worker_user() -> str | None:
    """The workers' user when nginx starts as root: the stack directory's owner (it is 0700),
    not nginx's default ``nobody``. Other users cannot switch, and nginx needs no directive."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwuid(os.geteuid()).pw_name


class Ingress:
    """One nginx in front of ``upstreams``; ``info`` is its ``stack.json`` entry."""

    def __init__(
        self,
        binary: str,
        layout: Layout,
        env: dict[str, str],
        options: StackOptions,
        cert_file: Path,
        key_file: Path,
    ) -> None:
        self.binary = binary
        self.layout = layout
        self.env = dict(env)
        try:
            self.policy: IngressPolicy = policy_from_env(env, options.ingress_overrides)
        except ValidationError as exc:
            raise StackError(f"ingress overrides {options.ingress_overrides}: {exc}") from exc
        directory = layout.root / NAME
        (directory / "temp").mkdir(parents=True, exist_ok=True)  # nginx makes only the last level
        self.paths = IngressPaths(
            directory=directory,
            cert_file=cert_file,
            key_file=key_file,
            access_log=layout.logs / "ingress-access.log",
            error_log=layout.out(NAME),
        )
        self.process: ManagedProcess | None = None
        self.url: str | None = None

    def _build(self, upstreams: list[str], port: int) -> ManagedProcess:
        """The configuration for ``port`` written, and the process that runs it (not started)."""
        text = render(self.policy, self.paths, port=port, upstreams=upstreams, run_as=worker_user())
        self.paths.config.write_text(text, encoding="utf-8")
        argv = [
            self.binary,
            "-p",
            str(self.paths.directory),
            "-c",
            str(self.paths.config),
            # Errors from before the configuration is read go to the same file.
            "-e",
            str(self.paths.error_log),
        ]
        return ManagedProcess(
            NAME, argv, env=self.env, log_path=self.paths.error_log, cwd=self.layout.root
        )

    def start(self, http: httpx.Client, upstreams: list[str], timeout: float) -> str:
        """Start nginx in front of ``upstreams`` (host:port each); return its public URL once
        ``/health/live`` answers through it."""
        self.process, port = launch_on_free_port(
            functools.partial(self._build, upstreams),
            lambda p: api.live(http, api.api_url(p)),
            timeout=timeout,
            what="the ingress (nginx; GET /health/live over HTTPS through it)",
        )
        self.url = api.api_url(port)
        logger.info("ingress: nginx on %s in front of %s", self.url, upstreams)
        return self.url

    @property
    def info(self) -> IngressInfo:
        pid = self.process.pid if self.process is not None else None
        return IngressInfo(
            kind="nginx",
            url=self.url,
            config=self.paths.config,
            policy=self.policy.model_dump(),
            pids={"nginx": pid} if pid else {},
        )

    @property
    def logs(self) -> dict[str, Path]:
        """Its ``stack.json`` ``logs`` entries: the access log and the error log."""
        return {"ingress-access": self.paths.access_log, f"{NAME}.out": self.paths.error_log}

    def stop(self, timeout: float) -> None:
        if self.process is not None:
            stop_all([self.process], timeout)


def trusted_proxy(ingress: Ingress | None) -> str | None:
    """The address the API processes take X-Forwarded-* from: the ingress's, else none."""
    return INGRESS_SOURCE_ADDRESS if ingress is not None else None
