"""The metrics, logging, protection and operational-security checks fail on broken stacks.

Each case is one realistic misconfiguration (a debugging aid left on, a log setting changed, a
shield switched off) and the items whose checks must turn to `fail` because of it.
"""

from __future__ import annotations

import ssl
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from service.stack import Stack, StackOptions, running_stack
from tests.selftests.broken import failed, run_checks

# Short waits: a record that is not there after 3 s will not come on a loopback stack.
QUICK_LOGS = "[observability]\nlog_wait_s = 3.0\n"


@dataclass(frozen=True)
class Fault:
    """A broken stack: the service settings that break it, the items that must fail."""

    name: str
    ids: list[str]
    overrides: dict[str, str] = field(default_factory=dict)
    config: str = ""
    workers: int = 1


# Faults that break unrelated items share a stack (each item fails for its own cause only):
# every boot costs seconds, and this file must stay quick with -n 2.
FAULTS = [
    Fault(
        "debug request logging without redaction",
        ["protection.logs-no-sensitive", "protection.secrets-not-exposed"],
        overrides={"log_level": "DEBUG", "log_request_bodies": "true", "log_redaction": "false"},
    ),
    Fault(
        "access log switched off",
        ["opsec.access-logs", "logging.access-detail", "logging.correlation-ids"],
        overrides={"access_log_enabled": "false"},
        config=QUICK_LOGS,
    ),
    Fault(
        "plain-text logs; DoS shields down (no header deadline, huge body limit, no rate limit)",
        ["logging.collected", "logging.structured-errors", "opsec.dos"],
        overrides={
            "log_format": "text",
            "http_header_timeout_s": "3600",
            "max_body_bytes": str(1024**3),
            "rate_limit_enabled": "false",
        },
        config=QUICK_LOGS + "slow_header_max_s = 2.0\n",
    ),
    Fault(
        "metrics off; production with debug, docs, short HSTS, out-of-policy log retention",
        [
            "metrics.prometheus",
            "metrics.kpis",
            "metrics.queue",
            "metrics.errors-latency",
            "metrics.external-api",
            "opsec.security-events",
            "config.environment",
            "protection.tls",
            "logging.retention",
        ],
        overrides={
            "metrics_enabled": "false",
            "environment": "production",
            "debug": "true",
            "docs_enabled": "true",
            "hsts_max_age_s": "0",
            "log_backup_count": "1",
            "log_retention_days": "400",
        },
        config='expected_environment = "production"\n',
    ),
]


def boot(fault: Fault, tmp_path: Path) -> AbstractContextManager[Stack]:
    return running_stack(
        StackOptions(workers=fault.workers, overrides=fault.overrides, directory=tmp_path / "s")
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_check_fails_on_fault(fault: Fault, tmp_path: Path) -> None:
    """The checks of the fault's items end `fail` in checklist.json."""
    with boot(fault, tmp_path) as stack:
        items = run_checks(stack.info.stack_json, fault.ids, tmp_path, config=fault.config)
    assert not failed(items, fault.ids), failed(items, fault.ids)
    if "opsec.dos" in fault.ids:  # each of the three shields is shown missing on its own
        reason = str(items["opsec.dos"].get("reason"))
        for part in ("body got", "slow-header", "limits one client's flood"):
            assert part in reason, f"{part!r} not among the failures: {reason}"


def _error_while_datastore_down(stack: Stack) -> None:
    """An authenticated request while Redis is down: the API logs real errors."""
    info = stack.info
    verify = ssl.create_default_context(cafile=str(info.ca_file))
    stack.stop_redis()
    try:
        with httpx.Client(
            base_url=info.url, verify=verify, headers={"Authorization": f"Bearer {info.keys.api}"}
        ) as client:
            assert client.get("/status/00000000000000000000000000000000").status_code >= 500
    finally:
        stack.start_redis()


@pytest.mark.timeout(300)
def test_recent_errors_and_weak_secret_policy_fail(tmp_path: Path) -> None:
    """Real errors fail data.no-recent-errors; a stricter key policy fails config.secrets."""
    ids = ["data.no-recent-errors", "config.secrets"]
    with boot(Fault("errors", ids), tmp_path) as stack:
        _error_while_datastore_down(stack)
        items = run_checks(
            stack.info.stack_json,
            ids,
            tmp_path,
            config="[observability]\nsecret_min_length = 64\n",
        )
    assert not failed(items, ids), failed(items, ids)
