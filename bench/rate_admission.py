"""A rate limit's admission under many clients: ``python -m bench.rate_admission``.

``[--clients 64] [--api-processes 2] [--limit "400 per 4 seconds"] [--leases 1 8] [--windows 4]``

Per lease size, boots the reference stack (nginx terminating TLS in front of N API processes,
no workers or monitoring, ``max_in_flight`` out of the way) with the stack's rate-limit key
given ``--limit``, and has C clients, each on its own kept-alive connection through the ingress,
send ``GET /status/<no job>`` with that key back to back for W windows. Every answer is a 404
(admitted: the limiter let it through, the job is unknown) or a 429 (refused). Answers are
grouped by the window they were counted in (``X-RateLimit-Reset``, the epoch second the
window ends, as the answering process knows it: processes' views of one window differ by up
to 2 s, windows by the window's length, so windows of 4 s or more are told apart) and per
window the bench prints admitted vs the limit, the over-admission (admitted - limit, must be
0) and the early refusals' room (limit - admitted in a window that refused: hits leased to
another process and not used, at most (N - 1) x lease). The last window, cut by the end of
the run, is shown and not judged; so is the per-window split of lease 1 (``_judge``), whose
total over the complete windows is printed. Exit 1 when a leased window admitted more than its
limit or refused earlier than the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from limits import parse

from service.security.rate_leases import lease_size
from service.stack import StackOptions, running_stack
from service.stack.info import StackInfo

NO_JOB = "/status/" + "0" * 32


async def _hammer(info: StackInfo, clients: int, seconds: float) -> list[tuple[int, int]]:
    """(status, X-RateLimit-Reset) of every answer of ``clients`` back-to-back loops."""
    assert info.keys.rate_limit is not None, "the stack has no rate-limit key"
    headers = {"Authorization": f"Bearer {info.keys.rate_limit}"}
    answers: list[tuple[int, int]] = []
    deadline = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            response = await client.get(NO_JOB, headers=headers)
            answers.append((response.status_code, int(response.headers["x-ratelimit-reset"])))

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    made = [
        httpx.AsyncClient(base_url=info.url, verify=str(info.ca_file), limits=limits, timeout=30)
        for _ in range(clients)
    ]
    try:
        await asyncio.gather(*(one(c) for c in made))
    finally:
        await asyncio.gather(*(c.aclose() for c in made))
    return answers


def _windows(answers: list[tuple[int, int]], window_s: int) -> list[dict[str, Any]]:
    """Answers grouped by window: a window's reset as the processes report it spreads over up
    to 2 s (whole seconds; a process counting each hit learns it from the TTL in whole
    seconds), windows are ``window_s`` apart, so values within half a window of a window's
    first are that window."""
    out: list[dict[str, Any]] = []
    for status, reset in sorted(answers, key=lambda a: a[1]):
        if not out or reset - out[-1]["first"] > window_s / 2:
            out.append({"first": reset, "reset": reset, "admitted": 0, "refused": 0, "other": 0})
        window = out[-1]
        window["reset"] = reset
        key = {404: "admitted", 429: "refused"}.get(status, "other")
        window[key] += 1
    return out


def measure(args: argparse.Namespace, lease: int) -> dict[str, Any]:
    item = parse(args.limit)
    with tempfile.TemporaryDirectory(prefix="bench-admission-") as tmp:
        options = StackOptions(
            workers=0,
            pollers=0,
            monitoring=False,
            ingress="nginx",
            api_processes=args.api_processes,
            directory=Path(tmp) / "stack",
            overrides={
                "rate_limit_overrides": json.dumps({"ci-limit": args.limit}),
                "rate_limit_lease": str(lease),
                "max_in_flight": "0",
            },
        )
        with running_stack(options) as stack:
            started = time.time()
            answers = asyncio.run(
                _hammer(stack.info, args.clients, args.windows * item.get_expiry())
            )
            ended = time.time()
    size = lease_size(lease, item.amount)
    bound = (args.api_processes - 1) * size if size > 1 else 0
    windows = _windows(answers, item.get_expiry())
    for window in windows:
        window["complete"] = window["reset"] <= ended
        window["over"] = max(0, window["admitted"] - item.amount)
        window["unused"] = item.amount - window["admitted"] if window["refused"] else 0
    return {
        "lease": lease,
        "lease_size": size,
        "limit": item.amount,
        "early_bound": bound,
        "requests": len(answers),
        "rps": round(len(answers) / (ended - started), 1),
        "windows": windows,
    }


def _judge(result: dict[str, Any]) -> list[str]:
    """Per complete window, for leased runs: their ``X-RateLimit-Reset`` comes from the
    counter's PTTL (milliseconds), so every answer lands in its own window. A process counting
    each hit learns the reset from a TTL in whole seconds and may report a window's end up to
    a second early: answers near a boundary can land in the neighbouring window, so its split
    is shown (with the run's total) and not judged."""
    if result["lease_size"] <= 1:
        return []
    bad = []
    for n, window in enumerate(result["windows"], 1):
        if not window["complete"]:
            continue
        if window["over"]:
            bad.append(f"lease {result['lease']}: window {n} admitted {window['admitted']}")
        if window["unused"] > result["early_bound"]:
            bad.append(f"lease {result['lease']}: window {n} refused with {window['unused']} left")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--limit", default="400 per 4 seconds")
    parser.add_argument("--leases", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    results = [measure(args, lease) for lease in args.leases]
    print(
        f"{args.clients} clients, {args.api_processes} API processes behind nginx, limit "
        f"{args.limit!r}; per window: admitted / limit, over-admitted, left when refusing"
    )
    print(
        "| lease (effective) | bound (N-1)xL | req/s | window | admitted | refused | over | left |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        for n, w in enumerate(r["windows"], 1):
            label = f"{r['lease']} ({r['lease_size']})" if n == 1 else ""
            extra = (r["early_bound"], r["rps"]) if n == 1 else ("", "")
            cut = "" if w["complete"] else " (cut)"
            print(
                f"| {label} | {extra[0]} | {extra[1]} | {n}{cut} | {w['admitted']} / "
                f"{r['limit']} | {w['refused']} | {w['over']} | {w['unused']} |"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    for r in results:
        complete = [w for w in r["windows"] if w["complete"]]
        admitted = sum(w["admitted"] for w in complete)
        print(
            f"lease {r['lease']}: {admitted} admitted in {len(complete)} complete windows "
            f"(limit x windows = {r['limit'] * len(complete)})"
        )
    bad = [b for r in results for b in _judge(r)]
    for line in bad:
        print(f"FAIL {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
