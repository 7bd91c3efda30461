"""load/options.py: where the Locust users send requests, from stack.json or explicit options."""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

from load.options import resolve
from service.stack.info import StackInfo, StackKeys


def options(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "stack": "",
        "api_key": "",
        "ca_file": "",
        "chat_model": "",
        "max_tokens": 64,
        "hot_weight": 4,
        "backfill_weight": 1,
    }
    values.update(given)
    return argparse.Namespace(**values)


def write_stack(tmp_path: Path) -> Path:
    keys = StackKeys(api="k-api", api_2="k-2", admin="k-admin", revoked="k-old")
    info = StackInfo(
        url="https://127.0.0.1:9443",
        ca_file=tmp_path / "ca.pem",
        environment="local",
        dir=tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        keys=keys,
        key_ids=keys,
        emulators={"vllm": {"model": "org/raw-name", "public_model": "gateway-name"}},
    )
    return info.save()


def test_stack_supplies_url_key_ca_and_gateway_model(tmp_path: Path) -> None:
    """--stack alone is enough; the model is the name the gateway serves."""
    target = resolve(options(stack=str(write_stack(tmp_path))), None)
    assert target.url == "https://127.0.0.1:9443"
    assert target.headers() == {"Authorization": "Bearer k-api"}
    assert target.ca_file == tmp_path / "ca.pem"
    assert target.model == "gateway-name"


def test_explicit_options_win(tmp_path: Path) -> None:
    """--host, --api-key and --chat-model override the stack; no CA: the system store."""
    stack = str(write_stack(tmp_path))
    given = options(stack=stack, api_key="mine", chat_model="m")
    target = resolve(given, "http://127.0.0.1:8000")
    assert target.url == "http://127.0.0.1:8000" and target.model == "m"
    assert target.headers() == {"Authorization": "Bearer mine"}
    bare = resolve(options(), "http://127.0.0.1:8000")
    assert bare.model is None and bare.headers() == {}
    assert isinstance(bare.verify, ssl.SSLContext) and bare.verify is bare.verify  # one per process
