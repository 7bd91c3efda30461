"""``python -m service.emulators.arxiv --port P [--new-every-s 10]``: serve until stopped."""

from __future__ import annotations

import argparse

from service.emulators.arxiv import create_app
from service.emulators.config import add_arguments
from service.emulators.server import serve, state_from_arguments


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m service.emulators.arxiv", description="Emulated arXiv API (Atom)."
    )
    add_arguments(parser, default_port=8081)
    parser.add_argument("--model", help="ignored (the stack passes one to every emulator)")
    parser.add_argument(
        "--new-every-s",
        type=float,
        default=0.0,
        metavar="S",
        help="add a new paper every S seconds; 0: fixed corpus. Default: 0",
    )
    args = parser.parse_args(argv)
    state = state_from_arguments("arxiv", args)
    serve(create_app(state, new_every_s=args.new_every_s), state, args)


if __name__ == "__main__":
    main()
