"""`python -m bench.gateway failover`: N concurrent streams while the primary goes down.

The primary (vLLM emulator) refuses connections (``refuse``: in-flight streams are reset, as
by a crashed process) or answers 503 (``503``: a drain) for 30 % of the run. Reported: streams,
client-visible errors (status, error event, missing [DONE], broken connection), streams whose
text differs from the unbroken answer (a resumed stream must read as one answer), who served
during the outage, and when the first stream served by the primary completed after recovery.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.gateway_parts import MODEL, one_stream, start_api, start_emulator, stop


async def failover(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        common = ("--ttft-ms", "100", "--itl-ms", "10", "--output-tokens", "50")
        vproc, vurl = start_emulator("vllm", "--model", "org/model", *common)
        oproc, ourl = start_emulator("ollama", "--model", "m:1", *common)
        providers = {
            "vllm": {
                "kind": "vllm",
                "base_url": vurl,
                "models": {MODEL: "org/model"},
                "priority": 0,
            },
            "ollama": {"kind": "ollama", "base_url": ourl, "models": {MODEL: "m:1"}, "priority": 1},
        }
        aproc, aurl = start_api(work, providers, gateway={"resume_streams": args.resume})
        log: list[tuple[float, dict[str, Any]]] = []
        t0 = time.monotonic()
        stop_at = t0 + args.seconds

        async def user(client: httpx.AsyncClient) -> None:
            while time.monotonic() < stop_at:
                result = await one_stream(client, f"{aurl}/v1/chat/completions", MODEL)
                log.append((time.monotonic() - t0, result))

        async def chaos() -> tuple[float, float]:
            await asyncio.sleep(args.seconds * 0.25)  # the schedule of the experiment
            down = time.monotonic() - t0
            httpx.post(f"{vurl}/_emulator/config", json={"outage": args.mode})
            await asyncio.sleep(args.seconds * 0.3)
            up = time.monotonic() - t0
            httpx.post(f"{vurl}/_emulator/config", json={"outage": "none"})
            return down, up

        try:
            limits = httpx.Limits(max_connections=args.streams * 2)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                outage = asyncio.create_task(chaos())
                await asyncio.gather(*(user(client) for _ in range(args.streams)))
                down, up = await outage
        finally:
            stop(aproc, vproc, oproc)
    _report(args, log, down, up)


def _report(
    args: argparse.Namespace, log: list[tuple[float, dict[str, Any]]], down: float, up: float
) -> None:
    errors = Counter(r["error"] for _, r in log if "error" in r)
    texts = Counter(r["text"] for _, r in log if "text" in r)
    expected = texts.most_common(1)[0][0] if texts else ""
    garbled = sum(n for text, n in texts.items() if text != expected)
    back = [t for t, r in log if t > up and r.get("provider") == "vllm"]
    served_down = [r.get("provider") for t, r in log if down + 0.5 < t < up]
    returned = f"{back[0] - up:.2f}s after recovery" if back else "never"
    total = sum(errors.values())
    print(
        f"mode {args.mode}, resume {'on' if args.resume else 'off'}: {len(log)} streams, "
        f"{total} client-visible errors ({100 * total / len(log):.2f} %) {dict(errors)}; "
        f"{garbled} complete streams with a different text; outage {down:.1f}s-{up:.1f}s, "
        f"during it served by {sorted({p for p in served_down if p})}; first vllm-served "
        f"stream completed {returned}"
    )
