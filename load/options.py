"""The Locust command line options of preflight and what they resolve to.

Options are added through ``events.init_command_line_parser`` so they show in ``locust --help``,
in the web UI and in ``locust.conf``; their environment variables (``PREFLIGHT_*``, the same
names the suite uses) are read by Locust's own parser, not by us.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.stack.info import StackInfo

DEFAULT_MAX_TOKENS = 64
DEFAULT_SAMPLES_PREFIX = "load-samples"


def add_options(parser: Any) -> None:
    """Register the options on Locust's (configargparse) parser."""
    parser.add_argument(
        "--stack",
        metavar="PATH",
        env_var="PREFLIGHT_STACK",
        default="",
        help="stack.json of a running stack: URL, API key and CA come from it (--host wins)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        env_var="PREFLIGHT_API_KEY",
        default="",
        is_secret=True,
        help="API key sent as Bearer token (default: the stack's ordinary key)",
    )
    parser.add_argument(
        "--ca-file",
        metavar="PATH",
        env_var="PREFLIGHT_CA_FILE",
        default="",
        help="CA bundle to verify the target (default: the stack's CA, else the system store)",
    )
    parser.add_argument(
        "--preflight-config",
        metavar="PATH",
        default="",
        help="preflight.toml with the [slo] table. Default: ./preflight.toml when present",
    )
    parser.add_argument(
        "--chat-model",
        metavar="NAME",
        default="",
        help="model of the streaming chat user (default: the gateway model of --stack, else "
        "the target's first model from /v1/models)",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        default=DEFAULT_MAX_TOKENS,
        help="max_tokens per chat stream. Default: %(default)r",
    )
    parser.add_argument(
        "--samples-prefix",
        metavar="PREFIX",
        default=DEFAULT_SAMPLES_PREFIX,
        help="raw samples go to PREFIX-<host>-<pid>.jsonl, one file per process. "
        "Default: %(default)r",
    )
    parser.add_argument(
        "--arrival",
        choices=["constant", "poisson", "gamma", "trace"],
        default="",
        help="OpenLoopChatUser: arrival process. Default: [workload] arrival",
    )
    parser.add_argument(
        "--rate",
        type=float,
        metavar="R",
        default=0.0,
        help="OpenLoopChatUser: new sessions per second. Default: [workload] rate",
    )
    parser.add_argument(
        "--hot-weight",
        type=int,
        metavar="N",
        default=4,
        help="enqueue user: relative share of hot jobs. Default: %(default)r",
    )
    parser.add_argument(
        "--backfill-weight",
        type=int,
        metavar="N",
        default=1,
        help="enqueue user: relative share of backfill jobs. Default: %(default)r",
    )


@dataclass(frozen=True)
class LoadTarget:
    """Where the users send requests and how they authenticate."""

    url: str | None
    api_key: str | None
    ca_file: Path | None
    model: str | None
    max_tokens: int
    hot_weight: int
    backfill_weight: int

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @functools.cached_property
    def verify(self) -> ssl.SSLContext:
        """httpx's ``verify``: the given CA only, else the system store.

        One context per process, shared by all users: building one loads a CA bundle (tens of
        ms of CPU), and 64 users each building their own delayed the start of a run by seconds.
        """
        if self.ca_file is None:
            return ssl.create_default_context()
        return ssl.create_default_context(cafile=str(self.ca_file))


def resolve(options: Any, host: str | None) -> LoadTarget:
    """Explicit options win over ``stack.json``; ``host`` is Locust's --host."""
    stack = StackInfo.load(options.stack) if options.stack else None
    vllm = stack.emulators.get("vllm", {}) if stack else {}
    return LoadTarget(
        url=host or (stack.url if stack else None),
        api_key=options.api_key or (stack.keys.api if stack else None),
        ca_file=Path(options.ca_file) if options.ca_file else (stack.ca_file if stack else None),
        # public_model: the name the gateway serves; the emulator's own name is for direct runs.
        model=options.chat_model or vllm.get("public_model") or None,
        max_tokens=options.max_tokens,
        hot_weight=options.hot_weight,
        backfill_weight=options.backfill_weight,
    )
