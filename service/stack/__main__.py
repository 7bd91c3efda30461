"""``python -m service.stack`` / ``preflight-stack``: run the local stack until Ctrl-C or SIGTERM.

Prints where things are, never the keys themselves (they are in ``stack.json``, mode 0600), so
that a terminal scroll-back or a CI log does not leak them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from service.stack import StackError, StackOptions, StackSettings, running_stack
from service.stack.info import MonitoringInfo
from service.stack.options import DEFAULT_API_PROCESSES, INGRESS_MODES, parse_assignment


def _assignment(text: str) -> tuple[str, str]:
    try:
        return parse_assignment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="preflight-stack",
        description="Boot the local reference stack (Valkey, the API behind nginx over HTTPS, "
        "workers) on free loopback ports and keep it running until Ctrl-C or SIGTERM.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="stack directory (logs, data, TLS, stack.json); default: a new temporary directory; "
        "a reused directory keeps its Valkey data",
    )
    add("--workers", type=_count, default=2, metavar="N", help="number of worker processes")
    add("--pollers", type=_count, default=1, metavar="N", help="number of arXiv poller processes")
    add(
        "--set",
        dest="overrides",
        type=_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="service setting override, PLATFORM_ prefix optional, e.g. "
        "--set cors_allow_origins='[\"*\"]'; repeatable",
    )
    add(
        "--cert-days",
        type=int,
        default=30,
        metavar="N",
        help="validity of the server certificate in days (0 or less: already expired)",
    )
    add(
        "--ingress",
        choices=INGRESS_MODES,
        default="auto",
        help="nginx in front of the API (TLS, timeouts, body limit, request ids); auto: where "
        "nginx is installed (PREFLIGHT_STACK_NGINX_BINARIES), else the API serves HTTPS itself",
    )
    add(
        "--api-processes",
        type=_positive,
        default=None,
        metavar="N",
        help="API processes behind the ingress, each on its own port (default: "
        f"{DEFAULT_API_PROCESSES} with the ingress, 1 without)",
    )
    add(
        "--ingress-set",
        dest="ingress_overrides",
        type=_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="ingress policy override (service/stack/ingress_config.py IngressPolicy), e.g. "
        "--ingress-set client_header_timeout_s=60; repeatable",
    )
    add("--no-restart", action="store_true", help="do not restart workers that exit")
    add(
        "--no-monitoring",
        action="store_true",
        help="start no Prometheus and Alertmanager (by default both run where their executables "
        "are found: PREFLIGHT_STACK_PROMETHEUS_BINARY, PREFLIGHT_STACK_ALERTMANAGER_BINARIES)",
    )
    add(
        "--redis-url",
        default=None,
        metavar="URL",
        help="use this Redis instead of starting Valkey (also: REDIS_URL)",
    )
    add(
        "--json-out",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write stack.json here (kept up to date; mode 0600)",
    )
    add(
        "--startup-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="give up booting after this many seconds",
    )
    add("--environment", default="local", help="PLATFORM_ENVIRONMENT of the service")
    add("-v", "--verbose", action="store_true", help="log what the stack does")
    return parser


class _Stop:
    """Turns the first SIGINT/SIGTERM into a clean stop; later ones only say it is underway."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        if self.event.is_set():
            print("preflight-stack: already stopping, please wait", file=sys.stderr)
            return
        self.event.set()
        raise KeyboardInterrupt


def _monitoring_lines(monitoring: MonitoringInfo) -> list[tuple[str, str]]:
    """Where Prometheus and Alertmanager answer, or why they do not run."""
    urls = {"prometheus": monitoring.prometheus_url, "alertmanager": monitoring.alertmanager_url}
    return [
        (part, url or monitoring.skipped.get(part, "not running")) for part, url in urls.items()
    ]


def _options(args: argparse.Namespace, settings: StackSettings) -> StackOptions:
    return StackOptions(
        workers=args.workers,
        pollers=args.pollers,
        directory=args.dir,
        overrides=dict(args.overrides),
        cert_days=args.cert_days,
        restart_workers=not args.no_restart,
        redis_url=args.redis_url or settings.redis_url,
        startup_timeout_s=args.startup_timeout,
        environment=args.environment,
        json_out=args.json_out,
        monitoring=not args.no_monitoring,
        ingress=args.ingress,
        api_processes=args.api_processes,
        ingress_overrides=dict(args.ingress_overrides),
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="preflight-stack: %(levelname)s %(message)s",
    )
    settings = StackSettings()
    try:
        options = _options(args, settings)
    except ValueError as exc:
        parser.error(str(exc))
    stop = _Stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        with running_stack(options, settings) as stack:
            info = stack.info
            print(f"preflight stack up: {info.url}")
            print(f"  ingress:    {info.ingress.kind or info.ingress.skipped}")
            print(f"  API:        {', '.join(p.url for p in info.api)}")
            print(f"  CA file:    {info.ca_file}")
            also = f" (and {args.json_out})" if args.json_out else ""
            print(f"  stack.json: {info.stack_json}{also}")
            print(f"  keys:       in stack.json (0600), ids {info.key_ids.model_dump()}")
            print(f"  redis:      {info.redis_url}")
            print(f"  logs:       {info.dir / 'logs'}")
            for part, url in _monitoring_lines(info.monitoring):
                print(f"  {part + ':':<12}{url}")
            print("Ctrl-C or SIGTERM stops everything.", flush=True)
            while not stop.event.wait(1.0):
                pass
    except KeyboardInterrupt:
        pass
    except StackError as exc:
        print(f"preflight-stack: {exc}", file=sys.stderr)
        return 1
    print("preflight stack stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
