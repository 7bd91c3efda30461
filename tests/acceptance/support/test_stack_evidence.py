"""The reference stack checked through the operator's tools: its logs through ``[logs] command``
(``service.stack.log_window``), its outbound requests through the platform's own record, its
processes through its Prometheus (checked as an external target). The same checks pass that pass
on its files, emulator logs and pids; a log command that fails, prints no JSON or hangs makes
only the log checks not verified, with the command's status and stderr and no secret."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.stack import StackInfo, StackOptions, start_stack
from tests.selftests.broken import run_artefact_checks, run_with

pytestmark = pytest.mark.timeout(600)
LOG_IDS = [
    "logging.collected",
    "logging.correlation-ids",
    "opsec.access-logs",
    "protection.logs-no-sensitive",
    "data.no-recent-errors",
]
# On the bad commands' lines and in their stderr: a value only the secret patterns recognise.
SECRET = "preflight-cmd-token-0123456789"  # noqa: S105  # a canary, not a credential


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    with start_stack(StackOptions(workers=2, directory=tmp_path_factory.mktemp("s"))) as info:
        yield info


def _logs_config(command: str, timeout_s: float = 30.0) -> str:
    # A JSON string is a valid TOML basic string, whatever quotes the command holds.
    return f"[logs]\nsource = 'command'\ncommand = {json.dumps(command)}\ntimeout_s = {timeout_s}\n"


def _python(script: str, known: str) -> str:
    """The script, with the canary and a key the suite knows on its command line."""
    flags = f"--token {SECRET} --key={known}"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} {flags}"


def _verdicts(items: dict[str, dict[str, Any]], ids: list[str]) -> dict[str, str]:
    return {i: f"{items[i]['verdict']}: {items[i].get('reason')}" for i in ids}


def test_log_checks_pass_through_a_log_command(stack: StackInfo, tmp_path: Path) -> None:
    """The log checks read the stack's records through the command and pass."""
    window = (
        f"{shlex.quote(sys.executable)} -m service.stack.log_window "
        f"--dir {shlex.quote(str(stack.dir / 'logs'))} --since {{since}} --until {{until}}"
    )
    items = run_artefact_checks(
        LOG_IDS, tmp_path, config=_logs_config(window), stack_json=stack.stack_json
    )
    verdicts = _verdicts(items, LOG_IDS)
    assert all(v.startswith("pass") for v in verdicts.values()), verdicts
    evidence = str(items["logging.collected"].get("evidence"))
    assert "log_window" in evidence, evidence


@pytest.mark.parametrize(
    ("script", "timeout_s", "reason"),
    [
        (
            # Its stderr repeats its arguments: the canary and the known key must not reach the
            # report from either place.
            "import sys; sys.stderr.write('denied ' + ' '.join(sys.argv[1:])); sys.exit(3)",
            30.0,
            "exited with status 3",
        ),
        ("print('plain text, not the platform records')", 30.0, "printed no JSON records"),
        ("import time; time.sleep(60)", 2.0, "did not finish within 2 s"),
    ],
    ids=["fails", "not-json", "hangs"],
)
def test_bad_log_command_is_not_verified_only_there(
    stack: StackInfo, tmp_path: Path, script: str, timeout_s: float, reason: str
) -> None:
    ids = ["logging.collected", "opsec.access-logs", "config.tls"]
    config = _logs_config(_python(script, stack.keys.admin), timeout_s)
    items = run_artefact_checks(ids, tmp_path, config=config, stack_json=stack.stack_json)
    verdicts = _verdicts(items, ids)
    for i in ids[:2]:
        assert verdicts[i].startswith("not_verified") and reason in verdicts[i], verdicts
        assert SECRET not in verdicts[i] and stack.keys.admin not in verdicts[i], verdicts[i]
    assert verdicts["config.tls"].startswith("pass"), verdicts  # nothing else is affected


def test_outbound_checks_pass_on_the_platforms_record(stack: StackInfo, tmp_path: Path) -> None:
    """arXiv cadence and robots judged on GET /admin/outbound/requests, not the emulators' logs."""
    ids = ["integrations.arxiv-cadence", "tos.robots"]
    config = "[ingestion]\noutbound_source = 'platform'\n"
    items = run_artefact_checks(ids, tmp_path, config=config, stack_json=stack.stack_json)
    verdicts = _verdicts(items, ids)
    assert all(v.startswith("pass") for v in verdicts.values()), verdicts
    assert "/admin/outbound/requests" in str(items["tos.robots"].get("evidence")), items[
        "tos.robots"
    ]


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed")
def test_process_checks_pass_from_prometheus(stack: StackInfo, tmp_path: Path) -> None:
    """As an external target (no pids), CPU and memory come from the stack's Prometheus."""
    ids = ["resources.cpu", "resources.memory", "load.memory-leaks"]
    config = f"[postdeploy]\nprometheus_url = {stack.monitoring.prometheus_url!r}\n"
    items = run_with(_external(stack), ids, tmp_path, config=config)
    verdicts = _verdicts(items, ids)
    assert all(v.startswith("pass") for v in verdicts.values()), verdicts
    assert "Prometheus" in str(items["resources.memory"].get("evidence")), items["resources.memory"]


def _external(stack: StackInfo) -> list[str]:
    """The stack as an external target: its public URL (nginx over its API processes), keys."""
    keys = stack.keys
    return [
        f"--target={stack.url}",
        f"--ca-file={stack.ca_file}",
        f"--api-key={keys.api}",
        f"--api-key-2={keys.api_2}",
        f"--admin-key={keys.admin}",
    ]


COUNTER_IDS = ["metrics.errors-latency", "metrics.kpis", "metrics.queue", "post1h.error-rates"]


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed")
def test_counter_checks_sum_every_process_from_prometheus(stack: StackInfo, tmp_path: Path) -> None:
    """Behind the balancing ingress, the counter checks read the platform's series of every API
    process from Prometheus and pass."""
    config = f"[postdeploy]\nprometheus_url = {stack.monitoring.prometheus_url!r}\n"
    items = run_with(_external(stack), COUNTER_IDS, tmp_path, config=config)
    verdicts = _verdicts(items, COUNTER_IDS)
    assert all(v.startswith("pass") for v in verdicts.values()), verdicts
    evidence = items["metrics.errors-latency"]["evidence"]
    assert str(evidence["metrics_source"]).startswith("prometheus"), evidence
    assert len(evidence["metrics_instances"]) == len(stack.api) >= 2, evidence


def test_counter_checks_through_a_balancing_url_never_fail_for_it(
    stack: StackInfo, tmp_path: Path
) -> None:
    """With neither the processes nor Prometheus, the counter checks read the public URL: they
    pass or are not verified naming [postdeploy] prometheus_url, never fail for the balancing."""
    ids = ["metrics.errors-latency", "post1h.error-rates"]
    items = run_with(_external(stack), ids, tmp_path)
    verdicts = _verdicts(items, ids)
    assert all(v.startswith(("pass", "not_verified")) for v in verdicts.values()), verdicts
    assert all("prometheus_url" in v for v in verdicts.values() if v.startswith("not_verified"))
    for i in ids:
        if verdicts[i].startswith("pass"):
            assert items[i]["evidence"]["metrics_source"] == "public URL", items[i]
