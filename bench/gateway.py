"""Gateway benchmarks: overhead against the emulator directly, and failover under load.

    python -m bench.gateway overhead [--requests 64] [--concurrency 1 16] [--no-rate-limit]
                                     [--baseline PATH] [--floor] [--tls] [--profile FILE]
                                     [--arrivals staggered|burst] [--stages FILE] [--ingress]
    python -m bench.gateway failover [--streams 50] [--mode refuse|503] [--no-resume]

`overhead` streams the same requests directly to the vLLM emulator and through the gateway,
interleaved in one run, and compares TTFT p50 (first content delta) and decode tokens/s
((n-1)/(t_last-t_first)). Each TTFT is split with the emulator's request log into "before"
(client send -> the emulator received the request: auth, rate limit, validation, upstream
connect) and "after" (the emulator wrote its first chunk -> the client read it: the relay).
`--baseline PATH` adds a second gateway run from another checkout (e.g. a worktree of main), so
before/after figures come from one run; `--floor` adds `bench.bare_proxy`, the least a Python
streaming hop costs; `--stages FILE` splits the gateway's TTFT stage by stage
(`bench.gateway_stages`); `--ingress` adds nginx, configured as the stack's ingress, in front of
the emulator and of the gateway (`bench.gateway_ingress`). `failover` is in
`bench.gateway_failover`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import gateway_ingress, gateway_stages
from bench.common import Valkey
from bench.gateway_failover import failover
from bench.gateway_parts import (
    MODEL,
    one_stream,
    start_api,
    start_emulator,
    start_floor,
    stop,
)
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


def _phases(samples: list[dict[str, Any]]) -> tuple[float, float]:
    """Median ms from client send to the emulator's receipt, and from its first write to the
    client's first content."""
    before, after = [], []
    for s in samples:
        record = s.get("record")
        if record is None or record.get("ttft_ms") is None:
            continue
        before.append((record["time"] - s["sent_wall"]) * 1000)
        after.append((s["first_wall"] - record["time"]) * 1000 - record["ttft_ms"])
    if not before:  # nothing matched the provider's log (a target forwarding no request id)
        return float("nan"), float("nan")
    return statistics.median(before), statistics.median(after)


async def _level(
    concurrency: int,
    rounds: int,
    targets: dict[str, tuple[str, str]],
    emulator: str,
    args: argparse.Namespace,
) -> dict[str, list[dict[str, Any]]]:
    """`rounds` streams per target and user. Staggered (default): `concurrency` users, each one
    stream at a time cycling through the targets, their starts spread over one stream's
    duration, so `concurrency` streams are always in flight and arrivals do not coincide.
    Burst: all users send at once, target after target (measures a burst's queueing)."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    limits = httpx.Limits(max_connections=concurrency * len(targets))
    async with httpx.AsyncClient(timeout=60, limits=limits, verify=args.verify) as client:
        warm = time.perf_counter()
        for url, model in targets.values():  # warm the connections
            await asyncio.gather(*(one_stream(client, url, model) for _ in range(concurrency)))
        stream_s = (time.perf_counter() - warm) / len(targets)
        since = time.time()
        names = list(targets)

        async def user(number: int) -> None:
            await asyncio.sleep(number * stream_s / concurrency)  # the arrival schedule
            for n in range(rounds * len(names)):
                name = names[(number + n) % len(names)]
                results[name].append(await one_stream(client, *targets[name]))

        if args.arrivals == "staggered":
            await asyncio.gather(*(user(number) for number in range(concurrency)))
        else:
            for _ in range(rounds):
                for name, (url, model) in targets.items():
                    batch = await asyncio.gather(
                        *(one_stream(client, url, model) for _ in range(concurrency))
                    )
                    results[name] += batch
        log = httpx.get(f"{emulator}/_emulator/requests", params={"since": since}, timeout=30)
    records = {r["request_id"]: r for r in log.json()["requests"] if r.get("request_id")}
    for samples in results.values():
        for s in samples:
            s["record"] = records.get(s.get("request_id", ""))
    return results


def _report(concurrency: int, results: dict[str, list[dict[str, Any]]]) -> None:
    rows: dict[str, tuple[float, float, float, float, int]] = {}
    for name, samples in results.items():
        ok = [s for s in samples if "error" not in s]
        before, after = _phases(ok)
        rows[name] = (
            statistics.median(s["ttft"] for s in ok) * 1000,
            statistics.median(s["tps"] for s in ok),
            before,
            after,
            len(samples) - len(ok),
        )
    direct = rows["direct"]
    print(
        f"concurrency {concurrency}, {len(results['direct'])} streams per target  (ms; tok/s;"
        " before = send -> provider receipt, after = provider's first write -> client's first"
        " content)"
    )
    print(
        f"  {'target':<10}{'TTFT p50':>10}{'added':>9}{'before':>9}{'after':>9}"
        f"{'tok/s':>9}{'ratio':>8}{'errors':>8}"
    )
    for name, (ttft, tps, before, after, errors) in rows.items():
        print(
            f"  {name:<10}{ttft:>10.2f}{ttft - direct[0]:>+9.2f}{before:>9.2f}{after:>9.2f}"
            f"{tps:>9.2f}{tps / direct[1]:>8.4f}{errors:>8}"
        )


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
        providers = {"vllm": {"kind": "vllm", "base_url": vurl, "models": {MODEL: UPSTREAM_MODEL}}}
        redis_url = valkey.url if valkey else None
        # The ingress serves HTTPS whether or not the gateways do (--tls).
        tls = write_tls(work / "tls", 1) if args.tls or args.ingress else None
        args.verify = ssl.create_default_context(cafile=str(tls.ca_file)) if tls else True
        api_tls = tls if args.tls else None
        procs = [vproc]
        try:
            stages = Path(args.stages) if args.stages else None
            if stages is not None:
                stages.write_text("")  # this run's stamps only
            aproc, aurl = start_api(
                work, providers, redis_url=redis_url, tls=api_tls, stages=stages
            )
            procs.append(aproc)
            targets = {
                "direct": (f"{vurl}/v1/chat/completions", UPSTREAM_MODEL),
                "gateway": (f"{aurl}/v1/chat/completions", MODEL),
            }
            if args.baseline:
                bproc, burl = start_api(
                    work, providers, redis_url=redis_url, source=args.baseline, tls=api_tls
                )
                procs.append(bproc)
                targets["baseline"] = (f"{burl}/v1/chat/completions", MODEL)
            if args.floor:
                fproc, furl = start_floor(vurl)
                procs.append(fproc)
                targets["floor"] = (f"{furl}/v1/chat/completions", UPSTREAM_MODEL)
            if args.ingress and tls is not None:
                procs += gateway_ingress.add_targets(targets, work, tls)
            with profiled(aproc.pid, args.profile):
                for concurrency in args.concurrency:
                    rounds = max(1, args.requests // concurrency)
                    results = await _level(concurrency, rounds, targets, vurl, args)
                    _report(concurrency, results)
                    if args.ingress:
                        gateway_ingress.report(results)
                    if stages is not None:
                        gateway_stages.report(results["gateway"], gateway_stages.read(stages))
        finally:
            stop(*procs)
            if valkey is not None:
                valkey.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway")
    sub = parser.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--requests", type=int, default=64, help="Default: %(default)r")
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
        default="staggered",
        help="how the concurrent streams start (see _level). Default: %(default)r",
    )
    o.add_argument("--profile", metavar="FILE", help="py-spy collapsed stacks of the gateway")
    o.add_argument(
        "--stages",
        metavar="FILE",
        help="run the gateway as bench.stages (perf_counter stamps per stage, to FILE) and"
        " print where its time to first token goes, stage by stage",
    )
    o.add_argument(
        "--ingress",
        action="store_true",
        help="also measure nginx as the stack runs it, in front of the emulator (TTFT added by"
        " nginx alone) and of the gateway (bench.gateway_ingress)",
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
