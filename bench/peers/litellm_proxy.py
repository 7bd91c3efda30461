"""A real LiteLLM proxy (`litellm[proxy]`, its own venv) in front of the vLLM emulator.

It is what people would put in front of vLLM instead of the platform's gateway, so
`python -m bench.gateway overhead --peer litellm` measures it in the same run. Started on
loopback with a bounded start and these offline settings, learnt the slow way:

- it refuses to serve without a master key: a fresh one per run, handed over in the environment
  (``LITELLM_MASTER_KEY``; the config names only the variable), never on a command line;
- for model names it recognises (anything with ``llama``) it tries to download a tokenizer for
  minutes, and at start the model cost map: the emulator's model gets the alias ``pfchat``, and
  ``HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True`` keep it off the network;
- ``forward_client_headers_to_llm_api`` passes the client's ``X-Request-ID`` on, so its streams
  are matched with the emulator's request log like the gateway's (it forwards ``x-*`` headers).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

from bench.common import free_port
from bench.gateway_parts import wait_ready
from bench.peers import missing, peer_python
from service.stack.files import write_private
from service.stack.tls import TlsFiles

ALIAS = "pfchat"
# LiteLLM imports for tens of seconds on a busy 2-core machine; its start is bounded by this.
START_TIMEOUT_S = 180.0


def start(
    workdir: Path, upstream: str, upstream_model: str, *, tls: TlsFiles | None = None
) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """The proxy on a free loopback port: its process, URL and the headers a client sends."""
    python = peer_python("litellm")
    if python is None:
        raise RuntimeError(missing("litellm"))
    master_key = "sk-" + secrets.token_urlsafe(24)  # LiteLLM wants the sk- prefix
    config = {
        "model_list": [
            {
                "model_name": ALIAS,
                "litellm_params": {
                    "model": f"hosted_vllm/{upstream_model}",
                    "api_base": f"{upstream}/v1",
                    "api_key": "none",
                },
            }
        ],
        "general_settings": {
            "master_key": "os.environ/LITELLM_MASTER_KEY",
            "forward_client_headers_to_llm_api": True,
        },
    }
    path = workdir / "litellm" / "config.yaml"  # JSON is YAML
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps(config).encode())
    port = free_port()
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": master_key,
        "HF_HUB_OFFLINE": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_DONT_SHOW_FEEDBACK_BOX": "true",
    }
    argv = [
        str(python),
        "-m",
        "litellm.proxy.proxy_cli",
        "--config",
        str(path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    if tls is not None:
        argv += ["--ssl_keyfile_path", str(tls.key_file), "--ssl_certfile_path", str(tls.cert_file)]
    log = (workdir / "litellm" / "proxy.log").open("ab")
    proc = subprocess.Popen(argv, env=env, cwd=path.parent, stdout=log, stderr=log)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    verify: str | bool = str(tls.ca_file) if tls else True
    wait_ready(f"{url}/health/liveliness", proc, deadline_s=START_TIMEOUT_S, verify=verify)
    return proc, url, {"Authorization": f"Bearer {master_key}"}
