"""How exactly Locust with load/ measures TTFT and tokens/s: against the configured truth.

Boots the vLLM emulator (TTFT 150 ms, 20 ms per token, 200 tokens by default), runs
``locust -f load/locustfile.py --headless ChatUser`` against it at each concurrency (optionally
with ``--processes``), and compares the medians of the raw samples with the truth and with the
emulator's own request log (receipt -> first content write, server-side). Run:

    python -m bench.load_accuracy [--levels 1 64] [--processes 0 2] [--run-s 25 15]

Client-side minus server-side TTFT is what the client adds (loopback, parsing, scheduling): if it
grows with concurrency, the load generator is the bottleneck, not the server.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.emulator_timing import boot, server_log
from load.samples import read_samples

REPO = Path(__file__).resolve().parents[1]
MODEL = "bench"  # emulator_timing.boot serves this name


def run_locust(url: str, users: int, processes: int, run_s: int, tokens: int, workdir: Path) -> int:
    prefix = workdir / f"u{users}-p{processes}"
    argv = [
        sys.executable, "-m", "locust", "-f", str(REPO / "load" / "locustfile.py"),
        "--headless", "--only-summary", "-u", str(users), "-r", str(users), "-t", f"{run_s}s",
        "--host", url, "--chat-model", MODEL, "--max-tokens", str(tokens),
        "--samples-prefix", str(prefix), "--preflight-config", str(REPO / "preflight.toml"),
    ]  # fmt: skip
    if processes:
        argv += ["--processes", str(processes)]
    argv.append("ChatUser")
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, check=False)
    (workdir / f"{prefix.name}.log").write_text(done.stderr)
    return done.returncode


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def row(
    users: int, processes: int, code: int, args: argparse.Namespace, samples: list[dict[str, Any]],
    server: list[dict[str, Any]],
) -> str:  # fmt: skip
    chat = [
        s for s in samples if s["kind"] == "chat" and s["ok"] and s["output_tokens"] == args.tokens
    ]
    done = [r for r in server if r["tokens"] == args.tokens and not r["disconnected"]]
    ttft = _median([s["ttft_ms"] for s in chat])
    ttft_server = _median([r["ttft_ms"] for r in done])
    decode = _median([s["decode_tokens_per_s"] for s in chat])
    e2e = _median([s["e2e_tokens_per_s"] for s in chat])
    gaps = sorted(g for s in chat for g in s["itl_ms"])
    itl_p95 = gaps[int(0.95 * (len(gaps) - 1))] if gaps else float("nan")
    true_ttft, true_rate = args.ttft_ms, 1000 / args.itl_ms
    return (
        f"| {users} | {processes or 1} | {len(chat)} | {ttft:.2f} | {ttft - true_ttft:+.2f} | "
        f"{ttft_server:.2f} | {ttft - ttft_server:+.2f} | {decode:.2f} | "
        f"{(decode / true_rate - 1) * 100:+.2f} % | {e2e:.2f} | {itl_p95:.2f} | {code} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttft-ms", type=float, default=150.0)
    parser.add_argument("--itl-ms", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--run-s", type=int, nargs="+", default=[25, 15], help="per level")
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[0, 2], help="0: one process; N: --processes N"
    )
    parser.add_argument("--keep", type=Path, help="keep samples and Locust logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        proc, url = boot(args, workdir)
        lines = [
            f"truth: TTFT {args.ttft_ms:g} ms, {1000 / args.itl_ms:g} tokens/s decode, "
            f"{args.tokens} tokens",
            "| users | processes | streams | TTFT p50 ms | vs truth | server TTFT p50 | "
            "client - server | decode tok/s p50 | vs truth | e2e tok/s p50 | ITL p95 ms | exit |",
            "|" + " --- |" * 12,
        ]
        try:
            for users, run_s in zip(args.levels, args.run_s, strict=True):
                for processes in args.processes:
                    if processes and users == 1:
                        continue  # one user cannot be spread over processes
                    server_log(url)  # reset the emulator's log
                    code = run_locust(url, users, processes, run_s, args.tokens, workdir)
                    samples = read_samples(workdir.glob(f"u{users}-p{processes}-*.jsonl"))
                    lines.append(row(users, processes, code, args, samples, server_log(url)))
                    sys.stdout.write(lines[-1] + "\n")
                    sys.stdout.flush()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        sys.stdout.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
