"""Every check of the first slice fails against a stack broken in the way that check guards.

Each case is one fault and the checklist items it must turn to `fail`. A check that passed here
could not fail, which is the defect these tests exist to catch.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from service.keyspace.keys import SCHEMA_KEY, stream_key
from service.stack import Stack, StackOptions, running_stack
from service.stack.environment import KEY_IDS, base_env, generate_keys
from service.stack.polling import wait_until
from service.stack.ports import free_port
from tests.selftests.broken import REPO_ROOT, failed, run_checks

FAST_WAITS = "job_wait_timeout_s = 4.0\n"


@dataclass(frozen=True)
class Fault:
    """A broken stack: how to build it, and which items its checks must fail."""

    name: str
    ids: list[str]
    workers: int = 2
    overrides: dict[str, str] = field(default_factory=dict)
    cert_days: int = 30
    config: str = ""


FAULTS = [
    Fault(
        "cors wildcard with credentials",
        ["config.cors", "auth.cors-blocks"],
        overrides={"cors_allow_origins": '["*"]', "cors_allow_credentials": "true"},
    ),
    Fault(
        "rate limiting switched off",
        ["config.rate-limits", "auth.rate-limiting"],
        overrides={"rate_limit_enabled": "false"},
    ),
    Fault(
        "rate limit far above policy",
        ["config.rate-limits"],
        overrides={"rate_limit": "100000 per minute"},
    ),
    Fault(
        "per-key limit far above policy",
        ["config.rate-limits", "auth.rate-limiting"],
        overrides={"rate_limit_overrides": '{"ci-limit": "100000 per minute"}'},
    ),
    Fault("certificate about to expire", ["config.tls"], cert_days=3),
    Fault("certificate expired", ["config.tls"], cert_days=-1),
    Fault(
        "build not tagged", ["readiness.artifacts-tagged"], overrides={"build_commit": "unknown"}
    ),
    Fault(
        "revoked key still accepted", ["auth.invalid-key-401"], overrides={"revoked_key_ids": "[]"}
    ),
    Fault("retries disabled", ["queue.retries"], overrides={"job_max_attempts": "1"}),
    Fault(
        "dead-letter queue disabled",
        ["queue.dead-letter"],
        overrides={"dead_letter_enabled": "false"},
    ),
    Fault(
        "backfill weighted above hot",
        ["queue.hot-priority"],
        overrides={"queue_weights": '{"hot": 1, "backfill": 50}'},
    ),
    Fault(
        "backfill starved by hot",
        ["queue.backfill-nonblocking"],
        overrides={"queue_weights": '{"hot": 1000, "backfill": 1}'},
    ),
    Fault(
        "no queue length limit",
        ["queue.length-limits"],
        overrides={"queue_max_length": '{"hot": 0, "backfill": 0}'},
    ),
    Fault(
        "queue limit too small to accept",
        ["endpoints.enqueue"],
        workers=0,
        overrides={"queue_max_length": '{"hot": 1, "backfill": 1}'},
    ),
    Fault(
        "no workers running",
        ["health.workers", "health.endpoints-ok", "endpoints.status", "data.schema-versions"],
        workers=0,
        config=FAST_WAITS,
    ),
    Fault("health ignores missing workers", ["endpoints.health"], overrides={"workers_min": "0"}),
]


def boot(fault: Fault, tmp_path: Path) -> AbstractContextManager[Stack]:
    return running_stack(
        StackOptions(
            workers=fault.workers,
            overrides=fault.overrides,
            cert_days=fault.cert_days,
            directory=tmp_path / "stack",
        )
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_check_fails_on_fault(fault: Fault, tmp_path: Path) -> None:
    """The checks of the fault's items end `fail` in checklist.json."""
    with boot(fault, tmp_path) as stack:
        items = run_checks(stack.info.stack_json, fault.ids, tmp_path, config=fault.config)
    assert not failed(items, fault.ids), failed(items, fault.ids)


def _client(stack: Stack, key: str) -> httpx.Client:
    verify = ssl.create_default_context(cafile=str(stack.info.ca_file))
    return httpx.Client(
        base_url=stack.info.url, verify=verify, headers={"Authorization": f"Bearer {key}"}
    )


def _enqueue_backlog(stack: Stack, count: int) -> None:
    with _client(stack, stack.info.keys.api) as client:
        for _ in range(count):
            assert client.post("/enqueue", json={"kind": "noop", "payload": {}}).status_code == 202


@pytest.mark.timeout(300)
def test_backlog_over_threshold_fails_queue_depths(tmp_path: Path) -> None:
    """A backlog above the configured depth threshold fails health.queue-depths."""
    ids = ["health.queue-depths"]
    with boot(Fault("backlog", ids, workers=0), tmp_path) as stack:
        _enqueue_backlog(stack, 3)
        items = run_checks(
            stack.info.stack_json, ids, tmp_path, config="[queue_depth_max]\nhot = 2\n"
        )
    assert not failed(items, ids), failed(items, ids)


@pytest.mark.timeout(300)
def test_datastore_down_fails_database_check(tmp_path: Path) -> None:
    """With Redis stopped, health.database fails (and the API stays up to say so)."""
    ids = ["health.database"]
    with boot(Fault("redis down", ids), tmp_path) as stack:
        stack.stop_redis()
        try:
            items = run_checks(stack.info.stack_json, ids, tmp_path)
        finally:
            stack.start_redis()
    assert not failed(items, ids), failed(items, ids)


@pytest.mark.timeout(300)
def test_schema_mismatch_fails_schema_versions(tmp_path: Path) -> None:
    """A datastore at another schema version than API and workers fails data.schema-versions."""
    ids = ["data.schema-versions"]
    with boot(Fault("schema mismatch", ids), tmp_path) as stack:
        redis.Redis.from_url(stack.info.redis_url).set(SCHEMA_KEY, json.dumps(99))
        items = run_checks(stack.info.stack_json, ids, tmp_path)
    assert not failed(items, ids), failed(items, ids)


@pytest.mark.timeout(300)
def test_orphaned_jobs_fail_db_integrity(tmp_path: Path) -> None:
    """The only worker is SIGKILLed mid-job and not restarted, and an operator trims the backfill
    stream to drop a backlog: an in-flight entry nobody recovers and two job records nothing
    references fail data.db-integrity (its document-store half still passes)."""
    ids = ["data.db-integrity"]
    fast = {"worker_heartbeat_s": "0.5", "job_visibility_timeout_s": "2"}  # deadline 3.5 s
    options = StackOptions(
        workers=1, restart_workers=False, overrides=fast, directory=tmp_path / "stack"
    )
    with running_stack(options) as stack, _client(stack, stack.info.keys.admin) as admin:
        probe = {"kind": "probe", "payload": {"duration_s": 60}}
        job_id = admin.post("/enqueue", json=probe).json()["job_id"]
        wait_until(
            lambda: admin.get(f"/status/{job_id}").json()["status"] == "running",
            timeout=30,
            what="the probe job to run",
        )
        stack.kill_worker("worker-1")
        for _ in range(2):
            admin.post("/enqueue", json={"kind": "noop", "queue": "backfill"}).raise_for_status()
        redis.Redis.from_url(stack.info.redis_url).xtrim(stream_key("backfill"), maxlen=0)

        def unrecovered() -> bool:
            return bool(admin.get("/admin/jobs/integrity").json()["checks"]["in_flight"] != "ok")

        wait_until(unrecovered, timeout=30, what="the dead worker's entry to pass its deadline")
        items = run_checks(stack.info.stack_json, ids, tmp_path)
    assert not failed(items, ids), failed(items, ids)
    checks = items["data.db-integrity"]["evidence"]["job_checks"]
    # At least the two trimmed here; jobs the arXiv poller had queued on backfill by then
    # (how many depends on the machine's pace) were trimmed with them.
    orphans = checks["records"].removesuffix(" orphaned job record(s)")
    assert orphans.isdigit() and int(orphans) >= 2, checks
    # The probe's entry at least; the worker may also have claimed a job the poller queued.
    in_flight = checks["in_flight"].split(" in-flight")[0]
    assert in_flight.isdigit() and int(in_flight) >= 1, checks


@pytest.mark.timeout(300)
def test_ordinary_key_pasted_into_admin_keys_fails_admin_protected(tmp_path: Path) -> None:
    """The ordinary key's value also listed among the admin keys (a copy-paste in the
    deployment's secrets): that key now opens the admin routes, which the check must catch."""
    keys = generate_keys()
    admin_keys = {KEY_IDS.admin: keys.admin, "ops-copy": keys.api}
    options = StackOptions(
        workers=1,
        keys=keys,
        directory=tmp_path / "stack",
        overrides={"admin_keys": json.dumps(admin_keys)},
    )
    ids = ["auth.admin-protected"]
    with running_stack(options) as stack:
        items = run_checks(stack.info.stack_json, ids, tmp_path)
    assert not failed(items, ids), failed(items, ids)
    assert "not protected as required" in str(items[ids[0]]["reason"]), items[ids[0]]["reason"]


def _key_injecting_proxy(stack: Stack, port: int, log: Path) -> subprocess.Popen[bytes]:
    """tests/selftests/key_proxy.py in front of the stack's API, on the API's own certificate."""
    info = stack.info
    env = {
        **base_env(),
        "PROXY_UPSTREAM": info.url,
        "PROXY_CA_FILE": str(info.ca_file),
        "PROXY_KEY": info.keys.api,
    }
    tls = stack.layout.tls
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.selftests.key_proxy:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--ssl-keyfile",
        str(tls / "server.key"),
        "--ssl-certfile",
        str(tls / "server.pem"),
    ]
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.timeout(300)
def test_ingress_adding_a_key_fails_protected_endpoints(tmp_path: Path) -> None:
    """An ingress that forwards anonymous requests with a service key: behind it every secured
    operation answers without a key, which auth.protected-endpoints must catch."""
    ids = ["auth.protected-endpoints"]
    with running_stack(StackOptions(workers=1, directory=tmp_path / "stack")) as stack:
        port = free_port()
        proxy = _key_injecting_proxy(stack, port, tmp_path / "proxy.log")
        try:
            url = f"https://127.0.0.1:{port}"
            verify = ssl.create_default_context(cafile=str(stack.info.ca_file))

            def answers() -> bool:
                try:
                    return httpx.get(url + "/health/live", verify=verify, timeout=2).is_success
                except httpx.HTTPError:
                    return False

            def exited() -> str | None:
                return None if proxy.poll() is None else "the proxy exited"

            wait_until(answers, timeout=30, what="the key-injecting proxy", abort=exited)
            behind = json.loads(stack.info.stack_json.read_text())
            behind["url"] = url
            stack_json = tmp_path / "behind-proxy.json"
            stack_json.write_text(json.dumps(behind))
            items = run_checks(stack_json, ids, tmp_path)
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
    assert not failed(items, ids), failed(items, ids)
    reason = str(items[ids[0]]["reason"])
    assert "answer without a key" in reason, reason
