"""acceptance/support/faults.py: hooks from [faults] or the reference stack's own, fired by one
code path; a hook that fails makes the check not verified, and shows no secret."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.outcomes import Skipped

from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.settings.faults import FaultHook
from acceptance.support.faults import arxiv_fault, fire, provider_fault, workers_fault
from acceptance.support.redaction import Redactor
from service.stack.info import StackInfo, StackKeys

pytestmark = pytest.mark.timeout(60)
TOKEN = "hook-token-s3cr3t-value"  # noqa: S105  # a canary the reasons must not show
REDACT = Redactor([TOKEN], [])


@pytest.fixture
def hook_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback server recording each call's method, path, headers and JSON body."""
    seen: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            seen.append({"method": self.command, "path": self.path, "body": body})
            seen[-1]["auth"] = self.headers.get("Authorization")
            status = 500 if self.path.startswith("/broken") else 200
            self.send_response(status)
            self.send_header("Content-Length", "13")
            self.end_headers()
            self.wfile.write(f"echo {TOKEN[:8]}".encode()[:13].ljust(13))

        do_POST = do_DELETE = _record

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _target(stack: Any = None) -> Target:
    return Target("https://t", None, None, None, None, None, True, stack=stack)


def test_http_hook_substitutes_typed_placeholders(
    hook_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, seen = hook_server
    hook = FaultHook.model_validate(
        {
            "url": url + "/scale/{provider}",
            "body": {"replicas": "{count}", "name": "{provider}-x", "keep": [1]},
            "headers": {"Authorization": f"Bearer {TOKEN}"},
        }
    )
    fire(hook, {"provider": "vllm", "count": "0"}, 5.0, REDACT)
    assert seen == [
        {
            "method": "POST",
            "path": "/scale/vllm",
            "body": {"replicas": 0, "name": "vllm-x", "keep": [1]},
            "auth": f"Bearer {TOKEN}",
        }
    ]


def test_failing_hooks_not_verified_without_secrets(
    hook_server: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, _ = hook_server
    with pytest.raises(Skipped) as caught:
        fire(FaultHook(url=url + "/broken"), {}, 5.0, REDACT)
    assert "answered 500" in str(caught.value)
    script = f"import sys; sys.stderr.write('denied {TOKEN}'); sys.exit(4)"
    command = f'{sys.executable} -c "{script}" --token {TOKEN}'
    with pytest.raises(Skipped) as caught:
        fire(FaultHook(command=command), {}, 5.0, REDACT)
    assert "exited with status 4" in str(caught.value) and "denied" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_configured_hooks_win_and_must_come_in_pairs() -> None:
    both = SuiteConfig.model_validate(
        {"faults": {"provider_down": {"command": "true"}, "provider_up": {"command": "true"}}}
    )
    fault = provider_fault(_target(), both, "vllm", "m")
    assert fault.origin.startswith("[faults]") and "true" in fault.describe()
    one = SuiteConfig.model_validate({"faults": {"workers_down": {"command": "true"}}})
    with pytest.raises(Skipped, match="set both"):
        workers_fault(_target(), one)


def test_without_hooks_the_reason_names_the_setting() -> None:
    makers: list[Callable[[SuiteConfig], object]] = [
        lambda c: provider_fault(_target(), c, "vllm", "m"),
        lambda c: workers_fault(_target(), c),
        lambda c: arxiv_fault(_target(), c, status=503, retry_after_s=5, count=1),
    ]
    for make in makers:
        with pytest.raises(Skipped, match=r"set \[faults\] \w+_down and \w+_up"):
            make(SuiteConfig())


def test_stack_hooks_are_its_emulators_routes(tmp_path: Path) -> None:
    keys = StackKeys(api="a" * 8, api_2="b" * 8, admin="c" * 8, revoked="d" * 8)
    stack = StackInfo(
        url="https://127.0.0.1:1",
        ca_file=tmp_path / "ca.pem",
        environment="local",
        dir=tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        keys=keys,
        key_ids=keys,
        emulators={"arxiv": {"admin_url": "http://127.0.0.1:1/_emulator"}},
    )
    fault = arxiv_fault(_target(stack), SuiteConfig(), status=503, retry_after_s=5, count=1)
    assert (fault.down.url, fault.up.method) == ("http://127.0.0.1:1/_emulator/faults", "DELETE")
    assert "arxiv emulator" in fault.describe()


def test_hook_header_refused_in_the_file(tmp_path: Path) -> None:
    from acceptance.settings import ConfigError, load_suite_config

    toml = tmp_path / "preflight.toml"
    toml.write_text('[faults.provider_down]\nurl = "http://x"\nheaders = {Authorization = "x"}\n')
    with pytest.raises(ConfigError, match="PREFLIGHT_FAULTS__PROVIDER_DOWN__HEADERS"):
        load_suite_config(toml)
