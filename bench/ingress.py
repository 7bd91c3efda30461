"""nginx as the ingress in front of the gateway, for `bench.gateway overhead --ingress`.

The deployment the platform runs (shared/DESIGN.md "Deployment model", issue 15): TLS terminated
by nginx, which spreads requests over plain-HTTP API processes, each with its own event loop.
nginx runs the very configuration the reference stack writes (`service.stack.ingress_config
.render`: upstream keep-alive, the chat route unbuffered, request ids, the client address), so
the figure is that of the deployed ingress. Measured as two kinds of target: nginx in front of
the emulator (what the ingress alone adds) and nginx in front of N API processes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench.gateway_parts import wait_ready
from service.stack.ingress import worker_user
from service.stack.ingress_config import IngressPaths, IngressPolicy, render
from service.stack.ports import free_port
from service.stack.settings import StackSettings
from service.stack.tls import TlsFiles

START_TIMEOUT_S = 10.0
# Nothing a benchmark stream comes near; the stack's own values come from its service policy.
POLICY = IngressPolicy(client_header_timeout_s=10.0, client_max_body_bytes=1024 * 1024)


def binary() -> str | None:
    """The nginx the stack would run, or None."""
    return next((p for p in map(shutil.which, StackSettings().nginx_binaries) if p), None)


def available() -> bool:
    return binary() is not None


def start(
    workdir: Path, name: str, upstreams: list[str], tls: TlsFiles
) -> tuple[subprocess.Popen[bytes], str]:
    """nginx serving HTTPS in front of `upstreams` ("127.0.0.1:port"): its process and URL. One
    nginx per upstream group, so that each one's CPU time is its own."""
    nginx = binary()
    if nginx is None:
        raise SystemExit("--ingress: nginx not installed (apt-get install nginx)")
    directory = workdir / f"nginx-{name}"
    (directory / "temp").mkdir(parents=True, exist_ok=True)
    paths = IngressPaths(
        directory=directory,
        cert_file=tls.cert_file,
        key_file=tls.key_file,
        access_log=directory / "access.log",
        error_log=directory / "error.log",
    )
    port = free_port()
    paths.config.write_text(
        render(POLICY, paths, port=port, upstreams=upstreams, run_as=worker_user())
    )
    argv = [nginx, "-p", str(directory), "-c", str(paths.config), "-e", str(paths.error_log)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    # Any answer will do (nginx's 404 or the upstream's): what matters is TLS on the port.
    wait_ready(url, proc, deadline_s=START_TIMEOUT_S, verify=str(tls.ca_file))
    return proc, url
