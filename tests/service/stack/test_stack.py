"""The local stack with real processes: boot, TLS, stack.json, supervision, faults, shutdown.

Every test boots a real stack (Valkey, uvicorn over HTTPS, workers) in its own directory; a stack
boots in about a second, so isolation costs little and no test depends on another's state.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from cryptography import x509

from service.stack import (
    Stack,
    StackError,
    StackInfo,
    StackOptions,
    StackSettings,
    components,
    processes,
    running_stack,
    start_stack,
)
from service.stack.components import AuxiliaryContext, AuxiliaryService
from service.stack.options import env_name, parse_assignment
from service.stack.polling import wait_until
from service.stack.ports import free_port
from service.stack.tls import write_tls
from service.stack.valkey import Valkey

pytestmark = pytest.mark.timeout(120)


def _client(info: StackInfo) -> httpx.Client:
    """A client that trusts only the stack's CA, as the suite's clients do."""
    context = ssl.create_default_context(cafile=str(info.ca_file))
    return httpx.Client(base_url=info.url, verify=context, timeout=5.0)


def _processes_of(directory: Path) -> list[int]:
    """Pids of live processes whose environment or command line mentions ``directory``.

    Every child of a stack runs in its directory (and API and workers get PLATFORM_LOG_DIR under
    it), so this finds leftovers even of processes the stack never recorded.
    """
    needle = str(directory).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd").encode()
            blob = cwd + (entry / "environ").read_bytes() + (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in blob and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture
def stack_dir(tmp_path: Path) -> Iterator[Path]:
    """A stack directory; the test fails if any process still uses it afterwards."""
    directory = tmp_path / "stack"
    yield directory
    assert _processes_of(directory) == []


def test_boot_serves_health_over_https_verified_by_its_ca(stack_dir: Path) -> None:
    """The API answers over HTTPS verified by the generated CA; stack.json describes it, 0600."""
    with start_stack(StackOptions(workers=2, directory=stack_dir)) as info:
        with _client(info) as client:
            assert client.get("/health/live").json() == {"status": "ok"}
            health = client.get("/health").json()
            assert health["components"]["workers"]["alive"] >= 2
            admin = {"Authorization": f"Bearer {info.keys.admin}"}
            assert client.get("/admin/config", headers=admin).status_code == 200
            revoked = {"Authorization": f"Bearer {info.keys.revoked}"}
            assert client.get("/admin/config", headers=revoked).status_code == 401
            limited = {"Authorization": f"Bearer {info.keys.rate_limit}"}
            no_job = f"/status/{'0' * 32}"
            assert client.get(no_job, headers=limited).headers["ratelimit-limit"] == "20"
        path = stack_dir / "stack.json"
        assert path.stat().st_mode & 0o777 == 0o600
        assert (stack_dir / "tls" / "server.key").stat().st_mode & 0o777 == 0o600
        raw = json.loads(path.read_text())
        assert raw["schema"] == 1
        assert raw["key_ids"] == {
            "api": "ci",
            "api_2": "ci-2",
            "admin": "ops",
            "revoked": "old",
            "rate_limit": "ci-limit",
        }
        assert set(raw["pids"]) >= {"stack", "api", "valkey", "worker-1", "worker-2"}
        assert StackInfo.load(path) == info
        assert info.keys.admin not in json.dumps(raw["settings"])
        assert info.keys.admin not in repr(info)


def test_stop_leaves_no_process_behind(stack_dir: Path) -> None:
    """Every pid in stack.json is gone once the context exits (the ingress's too)."""
    with start_stack(StackOptions(workers=2, directory=stack_dir)) as info:
        pids = {name: pid for name, pid in info.pids.items() if name != "stack"}
        ingress = dict(info.ingress.pids)
        # Two API processes behind the ingress by default, one without it.
        apis = {"api", *(f"api-{n}" for n in range(2, len(info.api) + 1))}
    for name, pid in {**pids, **ingress}.items():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert name  # the loop ran for every child
    assert len(apis) == (2 if ingress else 1)
    processes = {"valkey", *apis, "worker-1", "worker-2", "poller-1"}
    assert set(pids) == processes | {"vllm", "ollama", "arxiv", "robots", "github"}


def test_two_stacks_boot_in_parallel(tmp_path: Path) -> None:
    """Two stacks booting at the same time get their own ports, directories and datastores."""
    stacks = [Stack(StackOptions(workers=1, directory=tmp_path / f"s{n}")) for n in range(2)]
    errors: list[BaseException] = []

    def boot(stack: Stack) -> None:
        try:
            stack.start()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=boot, args=(stack,)) for stack in stacks]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        assert errors == []
        first, second = (stack.info for stack in stacks)
        assert first.url != second.url
        assert first.redis_url != second.redis_url
        for info in (first, second):
            with _client(info) as client:
                assert client.get("/health/live").status_code == 200
    finally:
        for stack in stacks:
            stack.stop()
    for n in range(2):
        assert _processes_of(tmp_path / f"s{n}") == []


def test_killed_worker_is_restarted_and_stack_json_updated(stack_dir: Path) -> None:
    """The supervisor replaces a SIGKILLed worker and publishes its new pid."""
    with running_stack(StackOptions(workers=1, directory=stack_dir)) as stack:
        old = stack.kill_worker("worker-1")
        new = stack.wait_for_worker_restart("worker-1", old, timeout=30)
        assert new != old
        on_disk = StackInfo.load(stack.info.stack_json)
        assert on_disk.pids["worker-1"] == new
        assert on_disk.restarts["worker-1"] == 1


def test_no_restart_leaves_a_dead_worker_dead(stack_dir: Path) -> None:
    """With restart_workers=False the supervisor only records the exit."""
    options = StackOptions(workers=1, directory=stack_dir, restart_workers=False)
    with running_stack(options) as stack:
        old = stack.kill_worker("worker-1")
        with pytest.raises(StackError):
            stack.wait_for_worker_restart("worker-1", old, timeout=2)
        assert stack.info.restarts["worker-1"] == 0


def test_redis_restart_keeps_port_and_data(stack_dir: Path) -> None:
    """stop_redis/start_redis reuse port and directory; the append-only file is replayed."""
    with running_stack(StackOptions(workers=0, directory=stack_dir)) as stack:
        url = stack.info.redis_url
        client = redis.Redis.from_url(url, socket_timeout=2)
        try:
            client.set("stack-test", "kept")
            stack.stop_redis()
            with pytest.raises(redis.ConnectionError):
                client.ping()
            stack.start_redis()
            assert stack.info.redis_url == url
            assert client.get("stack-test") == b"kept"
        finally:
            client.close()


def test_external_redis_is_used_and_not_started(stack_dir: Path, redis_server: str) -> None:
    """With redis_url the stack starts no Valkey and hands that URL to the service."""
    options = StackOptions(workers=0, directory=stack_dir, redis_url=redis_server)
    with running_stack(options) as stack:
        assert stack.info.redis_url == redis_server
        assert not stack.info.managed_redis
        assert "valkey" not in stack.info.pids
        with pytest.raises(StackError, match="external Redis"):
            stack.stop_redis()


def test_override_reaches_the_service(stack_dir: Path) -> None:
    """An override (any spelling) is in the service's running configuration and in stack.json."""
    options = StackOptions(
        workers=0,
        directory=stack_dir,
        overrides={
            "cors_allow_origins": '["https://example.test"]',
            "platform_RATE_LIMIT": "7/minute",
        },
    )
    with start_stack(options) as info, _client(info) as client:
        answer = client.get("/admin/config", headers={"X-API-Key": info.keys.admin})
        assert answer.status_code == 200
        settings = answer.json()["settings"]
        assert settings["cors_allow_origins"] == ["https://example.test"]
        assert settings["rate_limit"] == "7/minute"
        assert info.settings["PLATFORM_RATE_LIMIT"] == "7/minute"


def test_expired_certificate_stack_boots_with_that_certificate(stack_dir: Path) -> None:
    """cert_days=-1 serves a certificate whose notAfter is a day ago; clients refuse it."""
    with start_stack(StackOptions(workers=0, directory=stack_dir, cert_days=-1)) as info:
        assert info.cert_file is not None
        cert = x509.load_pem_x509_certificate(info.cert_file.read_bytes())
        expected = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        assert abs(cert.not_valid_after_utc - expected) < dt.timedelta(minutes=5)
        with _client(info) as client, pytest.raises(httpx.ConnectError, match="expired"):
            client.get("/health/live")


def test_certificate_validity_and_names(tmp_path: Path) -> None:
    """write_tls: notAfter as asked, SANs for 127.0.0.1, ::1 and localhost, key 0600."""
    files = write_tls(tmp_path, cert_days=3)
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    assert cert.not_valid_after_utc == files.not_after
    assert files.not_after - dt.datetime.now(dt.UTC) > dt.timedelta(days=2, hours=23)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert files.key_file.stat().st_mode & 0o777 == 0o600


def test_startup_failure_names_the_child_and_cleans_up(stack_dir: Path) -> None:
    """A service that refuses its configuration fails the boot with its log tail; nothing stays."""
    options = StackOptions(workers=1, directory=stack_dir, overrides={"log_level": "LOUD"})
    with pytest.raises(StackError, match=r"api exited with code(?s:.*)log_level"):
        Stack(options).start()


def test_cli_runs_until_signalled_and_exits_cleanly(stack_dir: Path, tmp_path: Path) -> None:
    """`python -m service.stack` writes stack.json (and --json-out), stops on SIGTERM, exits 0."""
    json_out = tmp_path / "out.json"
    argv = [
        sys.executable,
        "-m",
        "service.stack",
        "--dir",
        str(stack_dir),
        "--workers",
        "1",
        "--set",
        "rate_limit=9/minute",
        "--json-out",
        str(json_out),
    ]
    with (tmp_path / "cli.log").open("wb") as log:
        cli = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(
            lambda: json_out.exists() or cli.poll() is not None, timeout=60, what="stack.json"
        )
        assert cli.poll() is None, (tmp_path / "cli.log").read_text()
        info = StackInfo.load(json_out)
        assert info.settings["PLATFORM_RATE_LIMIT"] == "9/minute"
        assert json_out.stat().st_mode & 0o777 == 0o600
        output = (tmp_path / "cli.log").read_text()
        assert info.url in output
        assert info.keys.api not in output
        assert "prometheus:" in output and "alertmanager:" in output  # URL, or why not running
        cli.send_signal(signal.SIGTERM)
        assert cli.wait(timeout=30) == 0
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait(timeout=10)


def test_children_die_with_a_stack_process_killed_hard(stack_dir: Path) -> None:
    """The reaper stops every child when the process that booted them gets SIGKILL."""
    argv = [sys.executable, "-m", "service.stack", "--dir", str(stack_dir), "--workers", "1"]
    cli = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        stack_json = stack_dir / "stack.json"
        wait_until(stack_json.exists, timeout=60, what="stack.json")
        assert len(_processes_of(stack_dir)) >= 3
        cli.send_signal(signal.SIGKILL)
        cli.wait(timeout=10)
        wait_until(lambda: _processes_of(stack_dir) == [], timeout=20, what="the reaper")
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait(timeout=10)


def test_port_taken_before_the_child_binds_it_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of free ports: the child's bind fails, the stack retries on another port."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        offered = iter([taken])
        monkeypatch.setattr(processes, "free_port", lambda: next(offered, None) or free_port())
        valkey = Valkey(tmp_path / "valkey", tmp_path / "logs", dict(os.environ))
        try:
            valkey.start(timeout=30)
            assert valkey.port not in (None, taken)
            assert "Address already in use" in (tmp_path / "logs" / "valkey.log").read_text()
        finally:
            valkey.stop(timeout=10)


def _http_server(ctx: AuxiliaryContext) -> list[str]:
    return [ctx.python, "-m", "http.server", "--bind", "127.0.0.1", str(ctx.port)]


def test_auxiliary_service_is_booted_described_and_stopped(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registered auxiliary service (here the stdlib HTTP server) runs beside the service."""
    service = AuxiliaryService(
        name="files",
        argv=_http_server,
        ready_path="/",
        info=lambda ctx: {"url": ctx.url, "kind": "http.server"},
    )
    monkeypatch.setattr(components, "AUXILIARY_SERVICES", [service])
    with start_stack(StackOptions(workers=0, directory=stack_dir)) as info:
        entry = info.emulators["files"]
        assert entry["kind"] == "http.server"
        assert httpx.get(entry["url"] + "/", timeout=5).status_code == 200
        assert "files" in info.pids
        assert "files.out" in info.logs


def test_failed_auxiliary_service_stops_the_others(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Auxiliary services boot in parallel; when one cannot start, the boot fails and the one
    that did start is stopped with the rest of the stack."""
    good = AuxiliaryService(name="files", argv=_http_server, ready_path="/")
    broken = AuxiliaryService(
        name="broken", argv=lambda ctx: [ctx.python, "-c", "raise SystemExit(3)"]
    )
    monkeypatch.setattr(components, "AUXILIARY_SERVICES", [good, broken])
    with pytest.raises(StackError, match="broken exited with code 3"):
        Stack(StackOptions(workers=0, directory=stack_dir)).start()
    assert _processes_of(stack_dir) == []


def test_github_emulator_in_stack_json(stack_dir: Path) -> None:
    """The stack's GitHub emulator: URL, admin URL, repository and a request log it writes."""
    with start_stack(StackOptions(workers=0, directory=stack_dir)) as info:
        github = info.emulators["github"]
        issues = httpx.get(f"{github['url']}/repos/{github['repo']}/issues", timeout=5)
        assert issues.status_code == 200 and issues.json()
        assert github["admin_url"] == f"{github['url']}/_emulator"
        wait_until(
            lambda: Path(github["requests_log"]).stat().st_size > 0,
            timeout=10,
            what="the GitHub emulator's request log",
        )


def test_override_names_and_assignments() -> None:
    """--set NAME=VALUE: the PLATFORM_ prefix and case are optional; '=' may appear in values."""
    assert env_name("cors_allow_origins") == "PLATFORM_CORS_ALLOW_ORIGINS"
    assert env_name("Platform_Rate_Limit") == "PLATFORM_RATE_LIMIT"
    assert parse_assignment("redis_url=redis://h/0?a=b") == ("redis_url", "redis://h/0?a=b")
    with pytest.raises(ValueError):
        parse_assignment("no-equals-sign")


def test_redis_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """REDIS_URL (or PREFLIGHT_STACK_REDIS_URL) selects an external Redis."""
    monkeypatch.setenv("REDIS_URL", "redis://example.test:6379/1")
    assert StackSettings().redis_url == "redis://example.test:6379/1"
    monkeypatch.setenv("PREFLIGHT_STACK_REDIS_URL", "redis://other.test:6379/2")
    assert StackSettings().redis_url == "redis://other.test:6379/2"
