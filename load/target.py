"""Where the command-line drivers (``load.run``, ``load.capacity``) send their streams.

The same sources as Locust's options and the suite, in the same order: explicit options, then
``stack.json`` of a running stack, then ``preflight.toml``/``PREFLIGHT_*`` (the key comes from
``PREFLIGHT_API_KEY`` through the suite's settings class, never from the command line shown in
``ps`` unless given there).
"""

from __future__ import annotations

import argparse
import ssl

import httpx

from acceptance.settings import SuiteConfig
from load.openloop import HttpTarget
from service.stack.info import StackInfo


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target")
    group.add_argument("--stack", metavar="PATH", help="stack.json of a running stack")
    group.add_argument(
        "--url", metavar="URL", help="base URL serving /v1/chat/completions (wins over --stack)"
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help="Bearer key. Default: PREFLIGHT_API_KEY, else the stack's ordinary key",
    )
    group.add_argument("--ca-file", metavar="PATH", help="CA bundle. Default: the stack's")
    group.add_argument(
        "--model",
        metavar="NAME",
        help="model to ask for. Default: the stack's gateway model, else the target's first",
    )
    group.add_argument(
        "--preflight-config",
        metavar="PATH",
        help="preflight.toml with [workload] and [slo]. Default: ./preflight.toml when present",
    )


def resolve_target(args: argparse.Namespace, config: SuiteConfig) -> HttpTarget:
    """The target of the options; raises ValueError when none is given or no model is known."""
    stack_file = args.stack or config.stack
    stack = StackInfo.load(stack_file) if stack_file else None
    url = args.url or (stack.url if stack else None) or config.target
    if not url:
        raise ValueError("no target: give --url or --stack")
    key = args.api_key or config.api_key or (stack.keys.api if stack else None)
    ca = args.ca_file or config.ca_file or (stack.ca_file if stack else None)
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca)) if ca else True
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    model = args.model or (stack.emulators.get("vllm", {}).get("public_model") if stack else None)
    return HttpTarget(url.rstrip("/"), model or _first_model(url, headers, verify), headers, verify)


def _first_model(url: str, headers: dict[str, str], verify: ssl.SSLContext | bool) -> str:
    try:
        answer = httpx.get(f"{url}/v1/models", headers=headers, verify=verify, timeout=10.0)
        return str(answer.json()["data"][0]["id"])
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"no --model given and {url}/v1/models lists none: {exc}") from exc
