"""Gateway benchmarks: overhead against the emulator directly, and failover under load.

    python -m bench.gateway overhead [--requests 64] [--concurrency 1 16] [--no-rate-limit]
                                     [--baseline PATH] [--floor] [--tls] [--profile FILE]
                                     [--arrivals staggered|burst ...] [--stages FILE]
                                     [--peer litellm] [--ingress [--api-processes N ...]]
                                     [--connections warm|fresh] [--json FILE]
    python -m bench.gateway failover [--streams 50] [--mode refuse|503] [--no-resume]

`overhead` streams the same requests directly to the vLLM emulator and through the gateway,
interleaved in one run, and compares TTFT p50 (first content delta) and decode tokens/s
((n-1)/(t_last-t_first)). Each TTFT is split with the emulator's request log into "before"
(client send -> the emulator received the request: auth, rate limit, validation, upstream
connect) and "after" (the emulator wrote its first chunk -> the client read it: the relay).
`--baseline PATH` adds a second gateway run from another checkout (e.g. a worktree of main), so
before/after figures come from one run; `--floor` adds `bench.bare_proxy`, the least a Python
streaming hop costs; `--stages FILE` splits the gateway's TTFT stage by stage
(`bench.gateway_stages`); `--peer litellm` adds a real LiteLLM proxy (`bench.peers`),
`--ingress` nginx terminating TLS alone, in front of API processes and, with `--floor`, in front
of the bare hop: the least a Python gateway behind the ingress can add (`bench.gateway_targets`).
Each table also gives TTFT p95 and CPU per stream (`bench.gateway_report`). `failover` is in
`bench.gateway_failover`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import gateway_report, gateway_stages, gateway_targets
from bench.common import Valkey, tree_cpu_seconds
from bench.gateway_failover import failover
from bench.gateway_parts import Target, one_stream, start_emulator, stop
from service.stack.tls import write_tls

UPSTREAM_MODEL = "org/model"


@contextlib.contextmanager
def profiled(pid: int, out: str | None) -> Iterator[None]:
    """py-spy sampling the API process (collapsed stacks, idle frames too) while the block runs."""
    if out is None:
        yield
        return
    argv = [
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--rate",
        "500",
        "--idle",
        "--format",
        "raw",
        "--output",
        out,
        "--nonblocking",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.send_signal(2)  # py-spy writes its file on SIGINT
        proc.wait(30)


def _cpu(targets: dict[str, Target]) -> dict[str, float]:
    return {name: sum(map(tree_cpu_seconds, t.pids)) for name, t in targets.items()}


async def _level(
    concurrency: int,
    rounds: int,
    targets: dict[str, Target],
    emulator: str,
    args: argparse.Namespace,
    arrivals: str,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, float]]:
    """`rounds` streams per target and user. Staggered (default): `concurrency` users, each one
    stream at a time cycling through the targets, their starts spread over one stream's
    duration, so `concurrency` streams are always in flight and arrivals do not coincide.
    Burst: all users send at once, target after target (measures a burst's queueing), each
    burst right after a short one that keeps the target's connections open. `--connections
    fresh`: every stream on a new connection (a spike of new clients: TCP and TLS handshakes).
    Returns the streams per target and each target's CPU seconds over the measured part."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    fresh = args.connections == "fresh"
    async with contextlib.AsyncExitStack() as stack:
        # One client per target, its pool as large as the level: httpcore checks every idle
        # connection of a pool on each request it assigns, so one pool of all targets'
        # connections made 16 requests sent at once wait 60-100 ms in this client.
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        clients = {
            name: await stack.enter_async_context(
                httpx.AsyncClient(timeout=60, limits=limits, verify=args.verify)
            )
            for name in targets
        }

        async def stream(name: str, max_tokens: int | None = None) -> dict[str, Any]:
            t = targets[name]
            if not fresh:
                return await one_stream(
                    clients[name], t.url, t.model, headers=t.headers, max_tokens=max_tokens
                )
            async with httpx.AsyncClient(timeout=60, verify=args.verify) as own:
                return await one_stream(own, t.url, t.model, headers=t.headers)

        warm = time.perf_counter()
        for name in targets:  # warm the connections
            await asyncio.gather(*(stream(name) for _ in range(concurrency)))
        stream_s = (time.perf_counter() - warm) / len(targets)
        since = time.time()
        names = list(targets)
        cpu_before, cpu = _cpu(targets), dict[str, float]()

        async def user(number: int) -> None:
            await asyncio.sleep(number * stream_s / concurrency)  # the arrival schedule
            for n in range(rounds * len(names)):
                name = names[(number + n) % len(names)]
                results[name].append(await stream(name))

        if arrivals == "staggered":
            await asyncio.gather(*(user(number) for number in range(concurrency)))
        else:
            for _ in range(rounds):
                for name in names:
                    if not fresh:  # servers close idle connections (the stack's: after 5 s)
                        await asyncio.gather(*(stream(name, 1) for _ in range(concurrency)))
                    before = _cpu({name: targets[name]})[name]
                    batch = await asyncio.gather(*(stream(name) for _ in range(concurrency)))
                    cpu[name] = cpu.get(name, 0.0) + _cpu({name: targets[name]})[name] - before
                    results[name] += batch
        if arrivals == "staggered":
            cpu = {name: s - cpu_before[name] for name, s in _cpu(targets).items()}
        log = httpx.get(f"{emulator}/_emulator/requests", params={"since": since}, timeout=30)
    records = {r["request_id"]: r for r in log.json()["requests"] if r.get("request_id")}
    for samples in results.values():
        for s in samples:
            s["record"] = records.get(s.get("request_id", ""))
    return results, cpu


async def _levels(
    args: argparse.Namespace,
    targets: dict[str, Target],
    emulator: str,
    valkey: Valkey | None,
    stages: Path | None,
) -> dict[str, Any]:
    """One table per concurrency level, Valkey's CPU (the rate limits) and the stages below it;
    the tables by level, as `--json` writes them."""
    valkey_pid = valkey.proc.pid if valkey is not None and valkey.proc is not None else None
    tables: dict[str, Any] = {}
    with profiled(targets["gateway"].pids[0], args.profile):
        for arrivals in args.arrivals:
            for concurrency, requests in zip(args.concurrency, _per_level(args), strict=True):
                rounds = max(1, requests // concurrency)
                valkey_cpu = tree_cpu_seconds(valkey_pid) if valkey_pid else 0.0
                results, cpu = await _level(concurrency, rounds, targets, emulator, args, arrivals)
                tables[f"{arrivals}/{concurrency}"] = gateway_report.report(
                    concurrency, arrivals, results, cpu
                )
                if valkey_pid:
                    spent = tree_cpu_seconds(valkey_pid) - valkey_cpu
                    print(f"  valkey (the gateways' rate limits): {spent * 1000:.0f} ms CPU")
                if stages is not None:
                    _stages(targets, results, stages)
    return tables


def _per_level(args: argparse.Namespace) -> list[int]:
    """`--requests`: one figure for every level, or one per `--concurrency` level."""
    requests: list[int] = args.requests
    if len(requests) == 1:
        return requests * len(args.concurrency)
    if len(requests) != len(args.concurrency):
        raise SystemExit("--requests: one value, or one per --concurrency level")
    return requests


def _stages(
    targets: dict[str, Target], results: dict[str, list[dict[str, Any]]], stages: Path
) -> None:
    lines = gateway_stages.read(stages)
    for name in targets:
        if name == "gateway" or name.startswith("ingress+"):
            gateway_stages.report(results[name], lines, name)


async def overhead(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        valkey = Valkey(work, aof=False) if args.rate_limit else None
        if valkey is not None:
            valkey.start()
        vproc, vurl = start_emulator(
            "vllm",
            "--model",
            UPSTREAM_MODEL,
            "--ttft-ms",
            "150",
            "--itl-ms",
            "20",
            "--output-tokens",
            "50",
        )
        tls = write_tls(work / "tls", 1) if args.tls or args.ingress else None
        args.verify = ssl.create_default_context(cafile=str(tls.ca_file)) if tls else True
        stages = Path(args.stages) if args.stages else None
        if stages is not None:
            stages.write_text("")  # this run's stamps only
        try:
            with gateway_targets.started(
                args,
                work,
                vurl,
                UPSTREAM_MODEL,
                redis_url=valkey.url if valkey else None,
                tls=tls,
                stages=stages,
            ) as targets:
                tables = await _levels(args, targets, vurl, valkey, stages)
            if args.json:
                Path(args.json).write_text(json.dumps({"levels": tables}))
        finally:
            stop(vproc)
            if valkey is not None:
                valkey.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway")
    sub = parser.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument(
        "--requests",
        type=int,
        nargs="+",
        default=[64],
        help="streams per target and level: one value, or one per --concurrency level."
        " Default: %(default)r",
    )
    o.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 16], help="Default: %(default)r"
    )
    o.add_argument(
        "--no-rate-limit",
        dest="rate_limit",
        action="store_false",
        help="no Valkey, per-key rate limiting off (default: on, as deployed)",
    )
    o.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help="also measure a gateway run from this checkout, in the same run",
    )
    o.add_argument("--tls", action="store_true", help="the gateways over HTTPS (as deployed)")
    o.add_argument(
        "--floor",
        action="store_true",
        help="also measure bench.bare_proxy: a bare Python streaming hop",
    )
    o.add_argument(
        "--arrivals",
        choices=["staggered", "burst"],
        nargs="+",
        default=["staggered"],
        help="how the concurrent streams start (see _level); several: each in turn, in one run."
        " Default: %(default)r",
    )
    o.add_argument(
        "--peer",
        action="append",
        choices=["litellm"],
        default=[],
        help="also measure this peer in front of the same emulator, from its own venv"
        " (bench/peers/setup.sh); repeatable",
    )
    o.add_argument(
        "--ingress",
        action="store_true",
        help="also measure nginx terminating TLS in front of the emulator alone, in front of"
        " --api-processes plain-HTTP gateway processes, and with --floor in front of the bare"
        " Python hop (needs nginx)",
    )
    o.add_argument(
        "--api-processes",
        type=int,
        nargs="+",
        default=[2],
        metavar="N",
        help="gateway processes behind the ingress (--ingress); several counts: one ingress"
        " target each. Default: %(default)r",
    )
    o.add_argument(
        "--connections",
        choices=["warm", "fresh"],
        default="warm",
        help="kept-alive connections, or a new one per stream (handshakes included)."
        " Default: %(default)r",
    )
    o.add_argument("--profile", metavar="FILE", help="py-spy collapsed stacks of the gateway")
    o.add_argument("--json", metavar="FILE", help="also write each level's table as JSON to FILE")
    o.add_argument(
        "--stages",
        metavar="FILE",
        help="run the gateway as bench.stages (perf_counter stamps per stage, to FILE) and"
        " print where its time to first token goes, stage by stage",
    )
    f = sub.add_parser("failover")
    f.add_argument("--streams", type=int, default=50, help="Default: %(default)r")
    f.add_argument("--seconds", type=float, default=20.0, help="Default: %(default)r")
    f.add_argument(
        "--mode", choices=["refuse", "503"], default="refuse", help="Default: %(default)r"
    )
    f.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="gateway.resume_streams off: a broken stream ends with an error event",
    )
    args = parser.parse_args()
    asyncio.run(overhead(args) if args.what == "overhead" else failover(args))


if __name__ == "__main__":
    main()
