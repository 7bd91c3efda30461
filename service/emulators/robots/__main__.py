"""``python -m service.emulators.robots --port P``: serve until stopped."""

from __future__ import annotations

import argparse

from service.emulators.config import add_arguments
from service.emulators.robots import create_app
from service.emulators.server import serve, state_from_arguments


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m service.emulators.robots",
        description="Emulated model hub with a robots.txt.",
    )
    add_arguments(parser, default_port=8082)
    parser.add_argument("--model", help="ignored (the stack passes one to every emulator)")
    args = parser.parse_args(argv)
    state = state_from_arguments("robots", args)
    serve(create_app(state), state, args)


if __name__ == "__main__":
    main()
