"""The targets `bench.gateway overhead` interleaves, started for one run and stopped after it.

direct (the vLLM emulator itself), gateway (this checkout's API, as the stack runs it), and on
request: baseline (another checkout's API), floor (a bare Python hop), a peer such as LiteLLM,
and the ingress: nginx terminating TLS in front of the emulator alone and in front of
`--api-processes` plain-HTTP API processes (the deployment issue 15 aims at).
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import ingress
from bench.gateway_parts import HEADERS, MODEL, Target, start_api, start_floor, stop
from bench.peers import litellm_proxy
from service.stack.tls import TlsFiles

CHAT = "/v1/chat/completions"


@contextlib.contextmanager
def started(
    args: argparse.Namespace,
    work: Path,
    emulator: str,
    upstream_model: str,
    *,
    redis_url: str | None,
    tls: TlsFiles | None,
    stages: Path | None,
) -> Iterator[dict[str, Target]]:
    """Start every target the options ask for; stop them all on exit."""
    providers = {"vllm": {"kind": "vllm", "base_url": emulator, "models": {MODEL: upstream_model}}}
    procs: list[subprocess.Popen[bytes]] = []
    api: dict[str, Any] = {"redis_url": redis_url, "stages": stages}
    try:
        targets = {"direct": Target(f"{emulator}{CHAT}", upstream_model, HEADERS)}
        gw_tls = tls if args.tls else None
        proc, url = start_api(work, providers, tls=gw_tls, **api)
        procs.append(proc)
        targets["gateway"] = Target(f"{url}{CHAT}", MODEL, HEADERS, (proc.pid,))
        if args.baseline:
            proc, url = start_api(
                work, providers, redis_url=redis_url, source=args.baseline, tls=gw_tls
            )
            procs.append(proc)
            targets["baseline"] = Target(f"{url}{CHAT}", MODEL, HEADERS, (proc.pid,))
        if args.floor:
            proc, url = start_floor(emulator)
            procs.append(proc)
            targets["floor"] = Target(f"{url}{CHAT}", upstream_model, HEADERS, (proc.pid,))
        if "litellm" in args.peer:
            proc, url, headers = litellm_proxy.start(work, emulator, upstream_model, tls=gw_tls)
            procs.append(proc)
            targets["litellm"] = Target(f"{url}{CHAT}", litellm_proxy.ALIAS, headers, (proc.pid,))
        if args.ingress:
            assert tls is not None, "the ingress terminates TLS: TLS files are needed"
            if not ingress.available():
                raise SystemExit("--ingress: nginx not found (apt-get install nginx)")
            targets.update(
                _ingress(args, work, providers, emulator, upstream_model, tls, api, procs)
            )
        yield targets
    finally:
        stop(*procs)


def _ingress(
    args: argparse.Namespace,
    work: Path,
    providers: dict[str, Any],
    emulator: str,
    upstream_model: str,
    tls: TlsFiles,
    api: dict[str, Any],
    procs: list[subprocess.Popen[bytes]],
) -> dict[str, Target]:
    """nginx -> emulator ("ingress": the ingress alone), with `--floor` nginx -> a bare Python
    hop ("ingress+floor": the least any Python gateway behind the ingress adds), and per
    `--api-processes` count N, nginx -> N API processes ("ingress+Ngw"); one nginx each, so
    each one's CPU is its own."""
    alone, alone_url = ingress.start(work, "alone", [emulator.removeprefix("http://")], tls)
    procs.append(alone)
    targets = {"ingress": Target(f"{alone_url}{CHAT}", upstream_model, HEADERS, (alone.pid,))}
    if args.floor:
        hop, hop_url = start_floor(emulator)
        procs.append(hop)
        front, url = ingress.start(work, "floor", [hop_url.removeprefix("http://")], tls)
        procs.append(front)
        targets["ingress+floor"] = Target(
            f"{url}{CHAT}", upstream_model, HEADERS, (front.pid, hop.pid)
        )
    for count in args.api_processes:
        apis = [start_api(work, providers, **api) for _ in range(count)]
        procs += [proc for proc, _ in apis]
        name = f"ingress+{count}gw"
        front, url = ingress.start(
            work, name, [api_url.removeprefix("http://") for _, api_url in apis], tls
        )
        procs.append(front)
        pids = (front.pid, *(proc.pid for proc, _ in apis))
        targets[name] = Target(f"{url}{CHAT}", MODEL, HEADERS, pids)
    return targets
