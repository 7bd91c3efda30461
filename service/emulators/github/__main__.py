"""``python -m service.emulators.github --port P [--token T]``: serve until stopped."""

from __future__ import annotations

import argparse
from pathlib import Path

from service import __version__
from service.emulators.config import add_arguments
from service.emulators.github.app import create_app
from service.emulators.github.ratelimit import RateLimiter
from service.emulators.github.store import FIXTURE, IssueStore
from service.emulators.server import serve, state_from_arguments


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m service.emulators.github",
        description="Emulated GitHub REST API (repository issues, 2022-11-28).",
    )
    add_arguments(parser, default_port=8083)
    parser.add_argument("--model", help="ignored (the stack passes one to every emulator)")
    parser.add_argument(
        "--fixture",
        type=Path,
        default=FIXTURE,
        metavar="PATH",
        help="repositories and issues to serve. Default: the bundled fixture",
    )
    parser.add_argument(
        "--release-version",
        default=__version__,
        metavar="V",
        help="what {version} in fixture labels becomes. Default: %(default)r (this checkout)",
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="accept only these tokens (others get 401); none given: any token is accepted",
    )
    parser.add_argument(
        "--ratelimit-anonymous",
        type=int,
        default=60,
        metavar="N",
        help="requests per hour and IP without a token (GitHub's). Default: %(default)r",
    )
    parser.add_argument(
        "--ratelimit-authenticated",
        type=int,
        default=5000,
        metavar="N",
        help="requests per hour and token (GitHub's). Default: %(default)r",
    )
    args = parser.parse_args(argv)
    state = state_from_arguments("github", args)
    store = IssueStore.from_file(args.fixture, args.release_version)
    limiter = RateLimiter(args.ratelimit_anonymous, args.ratelimit_authenticated)
    app = create_app(state, store, tokens=frozenset(args.token), limiter=limiter)
    serve(app, state, args, server_header=False)  # the app sends GitHub's own "server"


if __name__ == "__main__":
    main()
