"""arXiv cadence across processes: ``python -m bench.arxiv_cadence [--pollers 3] [--seconds 20]``.

Boots the reference stack twice with N poller processes (plus the workers) for S seconds each:
once with the shared Redis-held cadence (``arxiv_rate_state=redis``, the default) and once with a
per-process throttle (``local``, the fault). Reports, from the arXiv emulator's own request log
(the ground truth), the number of requests, the closest and mean gap, and how many gaps were
under 3.0 s. Exit 1 unless the shared cadence has no gap under 3.0 s and the local one has some.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from itertools import pairwise
from pathlib import Path
from typing import Any

from service.stack import StackOptions, running_stack

LIMIT_S = 3.0


def measure(pollers: int, seconds: float, rate_state: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-arxiv-") as tmp:
        options = StackOptions(
            workers=2,
            pollers=pollers,
            directory=Path(tmp) / "stack",
            overrides={"arxiv_rate_state": rate_state},
        )
        with running_stack(options) as stack:
            log = Path(stack.info.emulators["arxiv"]["requests_log"])
            skip = len(log.read_text().splitlines()) if log.exists() else 0
            threading.Event().wait(seconds)  # the observation window of a benchmark
            lines = log.read_text().splitlines()[skip:]
    times = sorted(float(json.loads(line)["time"]) for line in lines if line.strip())
    gaps = [b - a for a, b in pairwise(times)]
    return {
        "rate_state": rate_state,
        "pollers": pollers,
        "seconds": seconds,
        "requests": len(times),
        "min_gap_s": round(min(gaps), 3) if gaps else None,
        "mean_gap_s": round(sum(gaps) / len(gaps), 3) if gaps else None,
        "gaps_under_3s": sum(g < LIMIT_S for g in gaps),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.arxiv_cadence", description=__doc__)
    parser.add_argument("--pollers", type=int, default=3, help="Default: %(default)r")
    parser.add_argument("--seconds", type=float, default=20.0, help="Default: %(default)r")
    args = parser.parse_args(argv)
    shared = measure(args.pollers, args.seconds, "redis")
    local = measure(args.pollers, args.seconds, "local")
    for row in (shared, local):
        sys.stdout.write(json.dumps(row) + "\n")
    ok = shared["gaps_under_3s"] == 0 and shared["requests"] >= 2 and local["gaps_under_3s"] > 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
