"""`python -m service.emulators.ollama --port P --model llama3.2 [...]`: serve until stopped."""

from __future__ import annotations

import argparse
import os

from service.emulators.config import add_arguments
from service.emulators.ollama import create_app
from service.emulators.ollama.slots import DEFAULT_MAX_QUEUE, DEFAULT_NUM_PARALLEL
from service.emulators.server import serve, state_from_arguments


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m service.emulators.ollama",
        description="Emulated Ollama server (native API).",
    )
    add_arguments(parser, default_port=11434)
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help="an installed model; repeatable. Default: llama3.2:latest",
    )
    parser.add_argument(
        "--num-parallel",
        type=int,
        default=_env_count("OLLAMA_NUM_PARALLEL", DEFAULT_NUM_PARALLEL, minimum=1),
        metavar="N",
        help="requests generated at once (OLLAMA_NUM_PARALLEL). Default: %(default)r",
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=_env_count("OLLAMA_MAX_QUEUE", DEFAULT_MAX_QUEUE, minimum=0),
        metavar="N",
        help="requests that may wait; more get 503 (OLLAMA_MAX_QUEUE). Default: %(default)r",
    )
    args = parser.parse_args(argv)
    if args.num_parallel < 1 or args.max_queue < 0:
        parser.error("--num-parallel must be >= 1 and --max-queue >= 0")
    state = state_from_arguments("ollama", args)
    app = create_app(
        state,
        models=args.model or ["llama3.2:latest"],
        num_parallel=args.num_parallel,
        max_queue=args.max_queue,
    )
    serve(app, state, args, server_header=False)


def _env_count(name: str, default: int, *, minimum: int) -> int:
    """Ollama's reading of its environment: what does not parse as an unsigned integer falls
    back to the default (Ollama logs a warning); 0 parallel, the old "auto", counts as 1, the
    default of current releases."""
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return default if value < 0 else max(value, minimum)


if __name__ == "__main__":
    main()
