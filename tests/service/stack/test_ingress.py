"""The stack's ingress (service/stack/ingress.py): nginx in front of two API processes.

One stack serves the booted cases (a boot costs seconds on a busy machine): nginx terminates
TLS, streams unbuffered, stamps and returns request ids, tells the API the real client's address
(and only it may), keeps connections to the API alive, refuses big bodies, slow headers and
climbing paths itself, and balances over both processes, which Prometheus scrapes one by one.
The configuration and the choice of ingress are tested without a boot.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError

from service.stack import Stack, StackError, StackOptions, StackSettings, running_stack
from service.stack.ingress import find_nginx, worker_user
from service.stack.ingress_config import IngressPaths, policy_from_env, render
from service.stack.polling import wait_until
from service.stack.tls import write_tls
from service.waiting import poll_until

pytestmark = pytest.mark.timeout(180)
NGINX = next((p for p in map(shutil.which, StackSettings().nginx_binaries) if p), None)
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx not installed (apt-get install nginx)"
)
NO_JOB = f"/status/{'0' * 32}"
# ESTABLISHED in /proc/net/tcp; 127.0.0.2 (the ingress's source address) in its hex notation.
TCP_ESTABLISHED = "01"
INGRESS_SOURCE_HEX = "0200007F"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if NGINX is None:
        pytest.skip("nginx not installed (apt-get install nginx)")
    options = StackOptions(
        workers=0,
        pollers=0,
        ingress="nginx",
        api_processes=2,
        directory=tmp_path_factory.mktemp("ingress") / "stack",
    )
    with running_stack(options) as booted:
        yield booted


def _client(stack: Stack, **kwargs: Any) -> httpx.Client:
    info = stack.info
    context = ssl.create_default_context(cafile=str(info.ca_file))
    headers = {"Authorization": f"Bearer {info.keys.api}"}
    if "transport" in kwargs:  # the transport verifies; the client must not be told twice
        return httpx.Client(base_url=info.url, headers=headers, timeout=10, **kwargs)
    return httpx.Client(base_url=info.url, verify=context, headers=headers, timeout=10)


def _access_record(stack: Stack, request_id: str) -> dict[str, Any]:
    path = stack.info.logs["access"]

    def found() -> dict[str, Any] | None:
        for line in path.read_text().splitlines():
            record: dict[str, Any] = json.loads(line)
            if record.get("request_id") == request_id:
                return record
        return None

    record: dict[str, Any] = poll_until(
        found, timeout=10, interval=0.05, message=f"access record {request_id}"
    )
    return record


@needs_nginx
def test_stack_json_names_the_ingress_and_each_api_process(stack: Stack) -> None:
    """The public URL is nginx's; each API process has its own plain-HTTP address and pid."""
    info = stack.info
    assert info.ingress.kind == "nginx" and info.ingress.skipped is None
    assert info.url == info.ingress.url and info.url.startswith("https://")
    assert [p.name for p in info.api] == ["api", "api-2"]
    assert all(p.url.startswith("http://127.0.0.1:") for p in info.api)
    assert {"api", "api-2"} <= set(info.pids) and "nginx" not in info.pids
    assert set(info.ingress.pids) == {"nginx"}
    assert {"ingress-access", "ingress.out", "api.out", "api-2.out"} <= set(info.logs)
    assert info.ingress.policy["client_header_timeout_s"] == 2.0  # the stack's service policy


@needs_nginx
def test_tls_at_the_ingress_hsts_through_it_plain_http_redirected(stack: Stack) -> None:
    """HTTPS ends at nginx; the API, told the scheme, sends HSTS; plain HTTP is redirected."""
    with _client(stack) as client:
        answer = client.get("/health/live")
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    direct = httpx.get(f"{stack.info.api[0].url}/health/live", timeout=10)
    assert direct.status_code == 200 and "strict-transport-security" not in direct.headers
    port = int(urlsplit(stack.info.url).port or 0)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert raw.recv(1024).startswith(b"HTTP/1.1 301")


@needs_nginx
def test_request_id_passed_through_or_generated_and_returned(stack: Stack) -> None:
    """A valid client id reaches the API and comes back once; an invalid one is replaced."""
    with _client(stack) as client:
        given = client.get("/health/live", headers={"X-Request-ID": "ingress-test-1"})
        replaced = client.get("/health/live", headers={"X-Request-ID": "not valid!"})
    assert given.headers.get_list("x-request-id") == ["ingress-test-1"]
    assert _access_record(stack, "ingress-test-1")["status"] == 200
    (generated,) = replaced.headers.get_list("x-request-id")
    assert len(generated) == 32 and generated != "not valid!"
    assert _access_record(stack, generated)["status"] == 200


@needs_nginx
def test_client_address_is_the_real_clients_and_not_forgeable(stack: Stack) -> None:
    """Through nginx the API logs the client's own address, whatever X-Forwarded-For it sent;
    a client talking to the API directly cannot pass one either."""
    forged = {"X-Forwarded-For": "203.0.113.9"}
    context = ssl.create_default_context(cafile=str(stack.info.ca_file))
    transport = httpx.HTTPTransport(local_address="127.0.0.3", verify=context)
    with _client(stack, transport=transport) as client:
        client.get(NO_JOB, headers={**forged, "X-Request-ID": "ingress-addr-1"})
    direct = stack.info.api[0].url
    headers = {**forged, "X-Forwarded-Proto": "https", "X-Request-ID": "ingress-addr-2"}
    httpx.get(f"{direct}{NO_JOB}", headers=headers, timeout=10)
    assert _access_record(stack, "ingress-addr-1")["client_ip"] == "127.0.0.3"
    assert _access_record(stack, "ingress-addr-2")["client_ip"] == "127.0.0.1"


@needs_nginx
def test_chat_stream_relayed_as_it_comes(stack: Stack) -> None:
    """The first content arrives long before the last (a buffered stream arrives at once)."""
    model = str(stack.info.emulators["vllm"]["public_model"])
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "max_tokens": 32,
    }
    stamps: list[float] = []
    with (
        _client(stack) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as answer,
    ):
        assert answer.status_code == 200
        for line in answer.iter_lines():
            if line.startswith("data: {") and '"content"' in line:
                stamps.append(time.monotonic())
    # 31 inter-token gaps of the emulator's 20 ms: about 0.6 s between first and last.
    assert len(stamps) > 10 and stamps[-1] - stamps[0] > 0.2


@needs_nginx
def test_ingress_refuses_big_bodies_and_climbing_paths_in_the_api_shape(stack: Stack) -> None:
    """Over the body limit 413, above the root 400: JSON errors with the request id."""
    with _client(stack) as client:
        big = client.post(
            "/enqueue",
            content=b" " * (2 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        )
        climbing = client.get("/status/..%2F..%2Fetc%2Fpasswd")
    for answer, status in ((big, 413), (climbing, 400)):
        assert answer.status_code == status
        error = answer.json()["error"]
        assert error["request_id"] == answer.headers["x-request-id"]
        assert error["type"] == "invalid_request_error"


@needs_nginx
def test_slow_headers_closed_by_the_ingress(stack: Stack) -> None:
    """A client trickling header bytes is cut off by nginx's header timeout (2 s here)."""
    context = ssl.create_default_context(cafile=str(stack.info.ca_file))
    port = int(urlsplit(stack.info.url).port or 0)
    started = time.monotonic()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.settimeout(0.25)
        closed = None
        for byte in b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 200:
            try:
                tls.sendall(bytes([byte]))
                if tls.recv(1024) == b"":
                    closed = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = time.monotonic() - started
                break
    assert closed is not None and closed < 10


def _established_from_ingress(ports: set[int]) -> int:
    """TCP connections from the ingress's address to ``ports`` that are open now."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        address, port = remote.split(":")
        if local.startswith(INGRESS_SOURCE_HEX) and int(port, 16) in ports:
            count += state == TCP_ESTABLISHED and address == "0100007F"
    return count


@needs_nginx
def test_connections_to_the_api_kept_alive_and_both_processes_serve(stack: Stack) -> None:
    """Twenty requests leave nginx's upstream connections open (kept for the next request),
    and the access records show both API processes served."""
    ports = {int(urlsplit(p.url).port or 0) for p in stack.info.api}
    ids = [f"ingress-balance-{n}" for n in range(20)]
    with _client(stack) as client:
        for request_id in ids:
            assert client.get("/health/live", headers={"X-Request-ID": request_id}).is_success
    assert _established_from_ingress(ports) >= 1
    assert len({_access_record(stack, request_id)["pid"] for request_id in ids}) == 2


@needs_nginx
def test_prometheus_scrapes_each_api_process_not_the_ingress(stack: Stack) -> None:
    """Job platform has one target per API process, at its own address, all up."""
    prometheus = stack.info.monitoring.prometheus_url
    if prometheus is None:
        pytest.skip(f"no Prometheus: {stack.info.monitoring.skipped}")

    def platform() -> dict[str, str]:
        body = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).json()
        return {
            t["scrapeUrl"]: t["health"]
            for t in body["data"]["activeTargets"]
            if t["labels"]["job"] == "platform"
        }

    wanted = {f"{p.url}/metrics" for p in stack.info.api}
    wait_until(
        lambda: platform() == dict.fromkeys(wanted, "up"),
        timeout=60,
        what="both API processes scraped up",
        interval=0.25,
    )


def test_policy_follows_the_service_policy_and_takes_overrides() -> None:
    """Header deadline and body limit come from the service's settings; overrides win; an
    unknown name is refused."""
    env = {"PLATFORM_HTTP_HEADER_TIMEOUT_S": "2", "PLATFORM_MAX_BODY_BYTES": "4096"}
    policy = policy_from_env(env, {})
    assert (policy.client_header_timeout_s, policy.client_max_body_bytes) == (2.0, 4096)
    assert policy_from_env({}, {}).client_max_body_bytes == 1024 * 1024  # the service default
    broken = policy_from_env(env, {"stream_buffering": "true", "client_header_timeout_s": "60"})
    assert broken.stream_buffering and broken.client_header_timeout_s == 60
    with pytest.raises(ValidationError):
        policy_from_env(env, {"no_such_knob": "1"})


@needs_nginx
def test_rendered_configuration_passes_nginx_t(tmp_path: Path) -> None:
    """nginx -t accepts the configuration, the misconfigured variants too."""
    tls = write_tls(tmp_path / "tls", 1)
    env = {"PLATFORM_HTTP_HEADER_TIMEOUT_S": "2"}
    variants = {"ok": {}, "broken": {"stream_buffering": "true", "forward_request_id": "false"}}
    for name, overrides in variants.items():
        directory = tmp_path / name
        (directory / "temp").mkdir(parents=True)
        paths = IngressPaths(directory, tls.cert_file, tls.key_file, tmp_path / "a", tmp_path / "e")
        text = render(
            policy_from_env(env, overrides),
            paths,
            port=8443,
            upstreams=["127.0.0.1:8001", "127.0.0.1:8002"],
            run_as=worker_user(),
        )
        paths.config.write_text(text)
        argv = [str(NGINX), "-t", "-p", str(directory), "-c", str(paths.config), "-e", "stderr"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stderr
        assert ("proxy_buffering on;" in text) == (name == "broken")
        assert ("X-Request-ID $preflight_request_id" in text) == (name == "ok")


def test_choice_of_ingress() -> None:
    """none: never, said why; auto without nginx: the API answers itself, said why; nginx
    without nginx: an error; several API processes need the ingress."""
    absent = StackSettings(nginx_binaries=["no-such-nginx"])
    assert find_nginx(StackOptions(ingress="none"), StackSettings())[1] == (
        "not asked for (--ingress none): the API answers clients itself"
    )
    binary, why = find_nginx(StackOptions(ingress="auto"), absent)
    assert binary is None and why is not None and "apt-get install nginx" in why
    with pytest.raises(StackError, match="no-such-nginx"):
        find_nginx(StackOptions(ingress="nginx"), absent)
    with pytest.raises(ValueError, match="need the ingress"):
        StackOptions(ingress="none", api_processes=2)


def test_without_ingress_the_api_serves_https_and_trusts_no_proxy(tmp_path: Path) -> None:
    """--ingress none: one API process on HTTPS is the public URL, stack.json says why there
    is no ingress, HSTS comes with HTTPS, and no X-Forwarded-For is believed."""
    options = StackOptions(workers=0, pollers=0, ingress="none", directory=tmp_path / "stack")
    with running_stack(options) as direct:
        info = direct.info
        assert info.ingress.kind is None and "--ingress none" in str(info.ingress.skipped)
        assert [p.url for p in info.api] == [info.url] and info.url.startswith("https://")
        forged = {"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "direct-https-1"}
        with _client(direct) as client:
            answer = client.get(NO_JOB, headers=forged)
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert _access_record(direct, "direct-https-1")["client_ip"] == "127.0.0.1"
