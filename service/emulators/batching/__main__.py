"""`python -m service.emulators.batching knee --prompt-tokens P --output-tokens O [engine flags]`.

Prints the saturation knee of the batching engine for a fixed workload: the closed form and
(with `--simulate`) the engine's measured throughput under an unbounded backlog. The engine
flags are the vLLM emulator's (`--time-scale`, `--max-num-seqs`, ...), so the figure is the one
an emulator started with the same flags has.
"""

from __future__ import annotations

import argparse
import json
import sys

from service.emulators.batching.knee import Workload, knee_rate, saturation_rate
from service.emulators.config import add_engine_arguments, engine_params, from_arguments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.emulators.batching")
    commands = parser.add_subparsers(dest="command", required=True)
    knee = commands.add_parser("knee", help="the arrival rate above which the queue grows")
    knee.add_argument(
        "--prompt-tokens",
        type=int,
        required=True,
        metavar="N",
        help="prompt length as the server counts it (usage.prompt_tokens)",
    )
    knee.add_argument("--output-tokens", type=int, required=True, metavar="N")
    knee.add_argument(
        "--shared-prefix-tokens",
        type=int,
        default=0,
        metavar="N",
        help="leading prompt tokens every request shares. Default: %(default)r",
    )
    knee.add_argument(
        "--simulate", action="store_true", help="also measure it on the engine (a few seconds)"
    )
    knee.add_argument("--json", action="store_true", help="one JSON object instead of text")
    add_engine_arguments(knee)
    args = parser.parse_args(argv)
    if args.prompt_tokens < 1 or args.output_tokens < 1 or args.shared_prefix_tokens < 0:
        parser.error("--prompt-tokens and --output-tokens must be >= 1, the prefix >= 0")
    params = engine_params(from_arguments(args))
    workload = Workload(args.prompt_tokens, args.output_tokens, args.shared_prefix_tokens)
    found = knee_rate(params, workload)
    result = {
        "rate_per_s": round(found.rate, 4),
        "limit": found.limit,
        "step_ms_at_knee": round(found.step_s * 1000, 3),
        "running_at_knee": round(found.running, 1),
        "output_tokens_per_s_at_knee": round(found.tokens_per_s, 1),
    }
    if args.simulate:
        result["simulated_rate_per_s"] = round(saturation_rate(params, workload), 4)
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write("".join(f"{key}: {value}\n" for key, value in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
