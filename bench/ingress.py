"""nginx as the ingress in front of the gateway, for `bench.gateway overhead --ingress`.

The deployment the platform is heading for (issue 15, shared/DESIGN.md "Deployment model"): TLS
terminated by nginx, which spreads requests over several plain-HTTP API processes (one per
core), each with its own event loop. Measured as two targets: nginx in front of the emulator
(what the ingress alone adds) and nginx in front of the API processes. Started here with the
Debian package's binary (`apt-get install nginx`) in a private prefix; the settings are the
ones a streaming proxy needs (HTTP/1.1 and keep-alive upstream, no response buffering).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench.common import free_port
from bench.gateway_parts import wait_ready
from service.stack.tls import TlsFiles

# Kept-alive connections per nginx worker to each upstream: above the benchmark's concurrency,
# so no stream waits for a TCP handshake to its upstream.
UPSTREAM_KEEPALIVE = 64
START_TIMEOUT_S = 10.0

_SERVER = """
  upstream {name} {{ least_conn; {servers} keepalive {keepalive}; }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert}; ssl_certificate_key {key};
    location / {{
      proxy_pass http://{name};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_buffering off;
      proxy_read_timeout 60s;
    }}
  }}
"""


def available() -> bool:
    return shutil.which("nginx") is not None


def start(
    workdir: Path, name: str, upstreams: list[str], tls: TlsFiles
) -> tuple[subprocess.Popen[bytes], str]:
    """nginx (one worker per core) serving HTTPS in front of `upstreams` ("127.0.0.1:port"):
    its process and URL. One nginx per upstream group, so each one's CPU time is its own."""
    prefix = workdir / f"nginx-{name}"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = _SERVER.format(
        name="upstream_group",
        port=port,
        cert=tls.cert_file,
        key=tls.key_file,
        servers=" ".join(f"server {a};" for a in upstreams),
        keepalive=UPSTREAM_KEEPALIVE,
    )
    temp = " ".join(
        f"{kind}_temp_path {prefix / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"daemon off; worker_processes auto; pid {prefix}/nginx.pid; user root;\n"
        f"error_log {prefix}/error.log warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{ access_log off; {temp}\n{server}}}\n"
    )
    argv = ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    # Any answer will do (nginx's 404 or the upstream's): what matters is TLS on the port.
    wait_ready(url, proc, deadline_s=START_TIMEOUT_S, verify=str(tls.ca_file))
    return proc, url
