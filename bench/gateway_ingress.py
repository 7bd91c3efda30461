"""`bench.gateway overhead --ingress`: nginx, configured as the stack's ingress, as a stage.

Two more targets in the same interleaved run: `ingress` (client -> nginx -> the vLLM emulator)
against `direct`, the time nginx alone adds to the first token, and `gw+ingress` (client ->
nginx -> the gateway -> the emulator) against `gateway`, the same hop on the production path.
nginx runs the configuration the reference stack writes (`service.stack.ingress_config.render`:
TLS terminated at nginx, upstream keep-alive, the chat route unbuffered), so the figure is that
of the deployed ingress. It serves HTTPS, so the client side of these targets pays TLS record
encryption on kept-alive connections (the handshakes fall in the warm-up), as a client of a real
ingress does; `direct` and `gateway` are plain HTTP unless `--tls`.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import free_port
from bench.gateway_parts import wait_ready
from service.stack.ingress import worker_user
from service.stack.ingress_config import IngressPaths, IngressPolicy, render
from service.stack.settings import StackSettings
from service.stack.tls import TlsFiles

# Nothing a benchmark stream comes near; the stack's own values come from its service policy.
POLICY = IngressPolicy(client_header_timeout_s=10.0, client_max_body_bytes=1024 * 1024)
# (target name, the target it is compared with)
PAIRS = (("ingress", "direct"), ("gw+ingress", "gateway"))


def nginx_binary() -> str:
    """The nginx the stack would run; a clear error when there is none."""
    found = next((p for p in map(shutil.which, StackSettings().nginx_binaries) if p), None)
    if found is None:
        raise SystemExit("--ingress: nginx not installed (apt-get install nginx)")
    return found


def start_ingress(
    work: Path, name: str, upstream: str, tls: TlsFiles
) -> tuple[subprocess.Popen[bytes], str]:
    """nginx with the stack's configuration on a free port in front of ``upstream``
    (http://host:port); its HTTPS URL once an answer comes through it."""
    directory = work / name
    (directory / "temp").mkdir(parents=True)
    paths = IngressPaths(
        directory=directory,
        cert_file=tls.cert_file,
        key_file=tls.key_file,
        access_log=directory / "access.log",
        error_log=directory / "error.log",
    )
    port = free_port()
    upstreams = [urlsplit(upstream).netloc]
    paths.config.write_text(
        render(POLICY, paths, port=port, upstreams=upstreams, run_as=worker_user())
    )
    argv = [
        nginx_binary(),
        "-p",
        str(directory),
        "-c",
        str(paths.config),
        "-e",
        str(paths.error_log),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    # Any answer proves TLS and the proxy work (the emulator has no /health/live).
    wait_ready(f"{url}/v1/models", proc, verify=str(tls.ca_file))
    return proc, url


def add_targets(
    targets: dict[str, tuple[str, str]], work: Path, tls: TlsFiles
) -> list[subprocess.Popen[bytes]]:
    """nginx in front of the `direct` and the `gateway` targets' servers, as two more targets
    (not in front of a gateway serving HTTPS itself: the ingress speaks plain HTTP upstream)."""
    procs = []
    for name, behind in PAIRS:
        url, model = targets[behind]
        parts = urlsplit(url)
        if parts.scheme != "http":
            continue
        proc, front = start_ingress(work, name, f"{parts.scheme}://{parts.netloc}", tls)
        procs.append(proc)
        targets[name] = (f"{front}{parts.path}", model)
    return procs


def report(results: dict[str, list[dict[str, Any]]]) -> None:
    """TTFT p50 nginx adds, each pair measured side by side in this run."""
    for name, behind in PAIRS:
        if name not in results:
            continue
        ttft = {
            n: statistics.median(s["ttft"] for s in results[n] if "error" not in s) * 1000
            for n in (name, behind)
        }
        print(
            f"  nginx added to {behind}'s TTFT p50: {ttft[name] - ttft[behind]:+.2f} ms"
            f" ({name} {ttft[name]:.2f} ms, {behind} {ttft[behind]:.2f} ms)"
        )
