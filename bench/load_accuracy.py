"""How exactly Locust with load/ measures TTFT and tokens/s: against the configured truth and the
emulator's record of the same requests.

Boots the vLLM emulator (TTFT 150 ms, 20 ms per token, 200 tokens), runs ``locust -f
load/locustfile.py --headless ChatUser`` against it for each scenario and compares the medians of
Locust's raw samples with two truths:

- configured: the TTFT and 1000/ITL decode tokens/s the emulator is set to;
- emulator: its own record of each request, matched by X-Request-ID, counted from the moment
  its HTTP parser saw the request: ``first_byte_ms`` (the first body message, which in a vLLM
  stream is the role + first content chunk, handed to the socket) and ``ttft_ms`` (that write
  returned and the emulator ran again; on 2 cores the woken reader can run first, so this one
  can come after Locust's read); decode tokens/s as (tokens - 1) / (last_token_ms - ttft_ms),
  both stamped the same way. The goals are judged against ``first_byte_ms``, the earlier one.

Locust minus emulator splits into the request leg (Locust's clock start to the emulator's
parser; both ``time.time()`` on one host) and the response leg (first chunk written to Locust's
read of it). 64 users either ramp up over one stream's duration ("ramp": Locust spawns
floor(rate) users a step, about 15 a second here; counted are the streams sent once all users
ran) or start at once ("burst": every stream then starts, and ends, in step with the others,
which loads the emulator's event loop as much as the client). CPU % (of one core, whole run):
Locust's processes, the emulator, everything else, and what the hypervisor stole (/proc/stat),
so a run on a busy machine says so. Run, with nothing else heavy on the machine:

    flock /work/heavy.lock python -m bench.load_accuracy [--scenarios 1:1:ramp 64:1:ramp
        64:2:ramp 64:1:burst] [--streams-per-user 3] [--single-streams 10] [--keep DIR]

Exit 1 when a goal (TTFT within 2 ms at 1 user, 5 ms at 64 streams, decode tokens/s within 2 %,
each against both truths) is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acceptance.support.procstat import cpu_seconds
from bench.emulator_timing import boot, server_log
from load.samples import read_samples
from load.streaming import CHAT_PATH

REPO = Path(__file__).resolve().parents[1]
MODEL = "bench"  # emulator_timing.boot serves this name
TTFT_GOAL_MS = {1: 2.0}  # one user; any other concurrency: TTFT_GOAL_MANY_MS
TTFT_GOAL_MANY_MS = 5.0
TPS_GOAL_PCT = 2.0


@dataclass(frozen=True)
class Scenario:
    users: int
    processes: int
    shape: str  # "ramp" | "burst"

    @classmethod
    def parse(cls, text: str) -> Scenario:
        users, processes, shape = text.split(":")
        if shape not in ("ramp", "burst"):
            raise argparse.ArgumentTypeError(f"shape must be ramp or burst: {text}")
        return cls(int(users), int(processes), shape)

    @property
    def starts(self) -> str:
        return self.shape if self.users > 1 else "-"

    @property
    def name(self) -> str:
        return f"u{self.users}-p{self.processes}-{self.shape}"


def stream_s(args: argparse.Namespace) -> float:
    """How long one stream lasts at the configured pace."""
    return float(args.ttft_ms + (args.tokens - 1) * args.itl_ms) / 1000


def spawn_rate(scenario: Scenario, args: argparse.Namespace) -> float:
    """Users per second: all at once, or ramped over one stream's duration."""
    if scenario.shape == "burst" or scenario.users == 1:
        return float(scenario.users)
    return scenario.users / stream_s(args)


def ramp_s(scenario: Scenario, rate: float) -> float:
    """When Locust's dispatcher starts the last users (steps of floor(rate) users)."""
    step = max(1, math.floor(rate))
    return (math.ceil(scenario.users / step) - 1) * step / rate


def run_locust(url: str, scenario: Scenario, args: argparse.Namespace, workdir: Path) -> int:
    rate = spawn_rate(scenario, args)
    rounds = args.single_streams if scenario.users == 1 else args.streams_per_user
    run_s = math.ceil(ramp_s(scenario, rate) + rounds * stream_s(args) + 1)
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(REPO / "load" / "locustfile.py"),
        "--headless",
        "--only-summary",
        "-u",
        str(scenario.users),
        "-r",
        f"{rate:.3f}",
        "-t",
        f"{run_s}s",
        "--host",
        url,
        "--chat-model",
        MODEL,
        "--max-tokens",
        str(args.tokens),
        "--samples-prefix",
        str(workdir / scenario.name),
        "--preflight-config",
        str(REPO / "preflight.toml"),
    ]
    if scenario.processes > 1:
        argv += ["--processes", str(scenario.processes)]
    argv.append("ChatUser")
    done = subprocess.run(
        argv, cwd=workdir, capture_output=True, text=True, timeout=run_s + 60, check=False
    )
    (workdir / f"{scenario.name}.log").write_text(done.stderr)
    return done.returncode


def children_cpu_s() -> float:
    """CPU seconds of the waited-for children and theirs (Locust and its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_cpu_s() -> tuple[float, float]:
    """Busy and stolen CPU seconds of all cores (/proc/stat): what else ran, and how much the
    hypervisor took (a shared VM loses the CPU that way without any process showing it)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def pairs(
    samples: list[dict[str, Any]], server: list[dict[str, Any]], tokens: int, steady: float
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Complete streams sent at full concurrency, each with the emulator's record of it."""
    by_id = {r["request_id"]: r for r in server if r["path"] == CHAT_PATH}
    matched = []
    for s in samples:
        record = by_id.get(s.get("request_id"))
        if s.get("kind") != "chat" or not s["ok"] or s["output_tokens"] != tokens:
            continue
        if record is None or record.get("last_token_ms") is None or s["wall_start"] < steady:
            continue
        matched.append((s, record))
    return matched


def server_ttft(record: dict[str, Any]) -> float:
    """Parser saw the request -> first content chunk handed to the socket, in ms."""
    return float(record["first_byte_ms"])


def server_rate(record: dict[str, Any]) -> float:
    span_ms = float(record["last_token_ms"]) - float(record["ttft_ms"])
    return (int(record["tokens"]) - 1) / (span_ms / 1000)


def request_leg(sample: dict[str, Any], record: dict[str, Any]) -> float:
    """Locust's clock start -> the emulator's parser, in ms (one host, one wall clock)."""
    return (float(record["time"]) - float(sample["wall_start"])) * 1000


def _p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Row:
    scenario: Scenario
    exit_code: int
    streams: int
    locust_cpu_pct: float  # % of one core over the whole run, start-up included
    emulator_cpu_pct: float
    other_cpu_pct: float  # everything else on the machine
    steal_pct: float
    ttft: float
    ttft_server: float
    ttft_returned: float  # the emulator's ttft_ms: after the write returned
    ttft_paired: float  # median over requests of (Locust - emulator)
    leg_request: float
    leg_response: float
    rate: float
    rate_server: float


def measure(matched: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, float]:
    return {
        "ttft": _p50([s["ttft_ms"] for s, _ in matched]),
        "ttft_server": _p50([server_ttft(r) for _, r in matched]),
        "ttft_returned": _p50([float(r["ttft_ms"]) for _, r in matched]),
        "ttft_paired": _p50([s["ttft_ms"] - server_ttft(r) for s, r in matched]),
        "leg_request": _p50([request_leg(s, r) for s, r in matched]),
        "leg_response": _p50(
            [s["ttft_ms"] - server_ttft(r) - request_leg(s, r) for s, r in matched]
        ),
        "rate": _p50([s["decode_tokens_per_s"] for s, _ in matched]),
        "rate_server": _p50([server_rate(r) for _, r in matched]),
    }


def verdicts(row: Row, args: argparse.Namespace) -> list[tuple[str, bool]]:
    goal = TTFT_GOAL_MS.get(row.scenario.users, TTFT_GOAL_MANY_MS)
    true_rate = 1000 / args.itl_ms
    checks = [
        (f"TTFT vs configured within {goal:g} ms", abs(row.ttft - args.ttft_ms) <= goal),
        (f"TTFT vs emulator within {goal:g} ms", abs(row.ttft - row.ttft_server) <= goal),
        (
            f"tokens/s vs configured within {TPS_GOAL_PCT:g} %",
            abs(row.rate / true_rate - 1) * 100 <= TPS_GOAL_PCT,
        ),
        (
            f"tokens/s vs emulator within {TPS_GOAL_PCT:g} %",
            abs(row.rate / row.rate_server - 1) * 100 <= TPS_GOAL_PCT,
        ),
    ]
    return [(name, ok and row.streams > 0) for name, ok in checks]


def table(rows: list[Row], args: argparse.Namespace) -> list[str]:
    true_rate = 1000 / args.itl_ms
    lines = [
        f"truth configured: TTFT {args.ttft_ms:g} ms, decode {true_rate:g} tokens/s, "
        f"{args.tokens} tokens; load average (1 min) at the end {os.getloadavg()[0]:.2f}",
        "",
        "| users | procs | starts | streams | CPU % Locust / emulator / others / stolen | "
        "TTFT p50 Locust | "
        "emulator sent (returned) | Locust - configured | Locust - emulator | per-request p50 "
        "(request leg + response leg) | exit |",
        "|" + " --- |" * 11,
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario.users} | {r.scenario.processes} | {r.scenario.starts} | {r.streams} | "
            f"{r.locust_cpu_pct:.0f} / {r.emulator_cpu_pct:.0f} / {r.other_cpu_pct:.0f} / "
            f"{r.steal_pct:.0f} | {r.ttft:.2f} | "
            f"{r.ttft_server:.2f} ({r.ttft_returned:.2f}) | {r.ttft - args.ttft_ms:+.2f} | "
            f"{r.ttft - r.ttft_server:+.2f} | "
            f"{r.ttft_paired:+.2f} ({r.leg_request:+.2f} {r.leg_response:+.2f}) | "
            f"{r.exit_code} |"
        )
    lines += [
        "",
        "| users | procs | starts | decode tok/s p50 Locust | emulator | vs configured | "
        "vs emulator | goals |",
        "|" + " --- |" * 8,
    ]
    for r in rows:
        missed = [name for name, ok in verdicts(r, args) if not ok]
        lines.append(
            f"| {r.scenario.users} | {r.scenario.processes} | {r.scenario.starts} | "
            f"{r.rate:.3f} | {r.rate_server:.3f} | {(r.rate / true_rate - 1) * 100:+.2f} % | "
            f"{(r.rate / r.rate_server - 1) * 100:+.2f} % | "
            f"{'met' if not missed else 'MISSED: ' + '; '.join(missed)} |"
        )
    return lines


def run(
    scenario: Scenario, args: argparse.Namespace, url: str, emulator_pid: int, workdir: Path
) -> Row:
    server_log(url)  # reset the emulator's log
    emulator_before, locust_before = cpu_seconds(emulator_pid) or 0.0, children_cpu_s()
    busy_before, steal_before = machine_cpu_s()
    started = time.monotonic()
    code = run_locust(url, scenario, args, workdir)
    wall = time.monotonic() - started
    emulator_cpu = (cpu_seconds(emulator_pid) or 0.0) - emulator_before
    locust_cpu = children_cpu_s() - locust_before
    busy_after, steal_after = machine_cpu_s()
    busy, steal = busy_after - busy_before, steal_after - steal_before
    samples = read_samples(workdir.glob(f"{scenario.name}-*.jsonl"))
    first = min((s["wall_start"] for s in samples), default=0.0)
    # All users run from here on; a stream sent up to 0.1 s earlier differs by one step.
    steady = first + ramp_s(scenario, spawn_rate(scenario, args)) - 0.1
    records = server_log(url)
    if args.keep:
        (workdir / f"{scenario.name}-emulator.json").write_text(json.dumps(records))
    matched = pairs(samples, records, args.tokens, steady)
    figures = measure(matched)
    pct = 100 / wall
    return Row(
        scenario,
        code,
        len(matched),
        locust_cpu * pct,
        emulator_cpu * pct,
        (busy - locust_cpu - emulator_cpu) * pct,
        steal * pct,
        **figures,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttft-ms", type=float, default=150.0)
    parser.add_argument("--itl-ms", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument(
        "--scenarios",
        type=Scenario.parse,
        nargs="+",
        default=[Scenario.parse(s) for s in ("1:1:ramp", "64:1:ramp", "64:2:ramp", "64:1:burst")],
        metavar="USERS:PROCESSES:ramp|burst",
    )
    parser.add_argument("--streams-per-user", type=int, default=3, help="after the ramp")
    parser.add_argument("--single-streams", type=int, default=10, help="streams of the 1-user run")
    parser.add_argument(
        "--keep", type=Path, help="keep samples, Locust logs and the emulator's records here"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        proc, url = boot(args, workdir)
        rows: list[Row] = []
        try:
            for scenario in args.scenarios:
                rows.append(run(scenario, args, url, proc.pid, workdir))
                r = rows[-1]
                sys.stderr.write(
                    f"{scenario.name}: {r.streams} streams, TTFT p50 {r.ttft:.2f} ms, "
                    f"decode {r.rate:.3f} tokens/s\n"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    sys.stdout.write("\n" + "\n".join(table(rows, args)) + "\n")
    raise SystemExit(0 if all(ok for r in rows for _, ok in verdicts(r, args)) else 1)


if __name__ == "__main__":
    main()
