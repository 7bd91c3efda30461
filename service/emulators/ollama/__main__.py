"""`python -m service.emulators.ollama --port P --model llama3.2 [...]`: serve until stopped."""

from __future__ import annotations

import argparse

from service.emulators.config import add_arguments
from service.emulators.ollama import create_app
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
    args = parser.parse_args(argv)
    state = state_from_arguments("ollama", args)
    app = create_app(state, models=args.model or ["llama3.2:latest"])
    serve(app, state, args, server_header=False)


if __name__ == "__main__":
    main()
