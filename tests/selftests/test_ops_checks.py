"""Each operations-artefact check fails on a copy of ops/ with the defect it guards.

The defect is in the files, so most cases need no stack: a temporary preflight.toml points the
[ops] and [release] paths at a broken copy. Checks that also read the target (/metrics, /version,
admin config) run against one healthy stack shared by the module. Each case also pins the reason,
so a check that fails for some other cause does not count as having caught the defect.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service import __version__
from service.stack import StackInfo, StackOptions, running_stack
from tests.selftests.broken import REPO_ROOT, failed, run_artefact_checks

needs_tools = pytest.mark.skipif(
    not (shutil.which("promtool") and shutil.which("amtool")),
    reason="promtool/amtool not installed (apt-get install prometheus prometheus-alertmanager)",
)


def _edit(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / relative
        text = path.read_text()
        assert old in text, f"{relative}: {old!r} not found (fixture out of date)"
        path.write_text(text.replace(old, new))

    return apply


def _write(relative: str, text: str) -> Callable[[Path], None]:
    return lambda root: (root / relative).write_text(text)


@dataclass(frozen=True)
class Defect:
    """A broken artefact set: how to break the copy, which item must fail and why."""

    name: str
    checklist_id: str
    reason: str
    breaks: Callable[[Path], None]
    target: bool = False
    extra_config: str = ""
    paths: tuple[str, ...] | None = None


RULES = "ops/prometheus/alerts.yml"
AM = "ops/alertmanager/alertmanager.yml"
LABEL = f"release:{__version__}"  # the label of the version the stack runs
DEFECTS = [
    Defect(
        "dead letters not critical",
        "alerting.critical-configured",
        "no critical alert for",
        _edit(
            RULES,
            'expr: platform_queue_depth{queue="dead"} > 10\n        for: 5m\n'
            "        labels:\n          severity: critical",
            'expr: platform_queue_depth{queue="dead"} > 10\n        for: 5m\n'
            "        labels:\n          severity: warning",
        ),
        target=True,
    ),
    Defect(
        "critical alert on a metric nobody exposes",
        "alerting.critical-configured",
        "critical alerts on metrics the target does not expose",
        _edit(RULES, "max(platform_llm_provider_up) == 0", "max(platform_llm_provider_ok) == 0"),
        target=True,
        extra_config='[ops.alert_conditions]\nprovider_down = "platform_llm_provider_ok"\n',
    ),
    Defect(
        "alert on a platform metric nobody exposes",
        "alerting.critical-configured",
        "platform metrics the target does not expose",
        _edit(
            RULES,
            "time() - platform_arxiv_last_success_timestamp_seconds",
            "time() - platform_arxiv_last_poll_seconds",
        ),
        target=True,
    ),
    Defect(
        "threshold moved off its test",
        "alerting.thresholds",
        "promtool test rules failed",
        _edit(RULES, '{queue="hot"} > 100', '{queue="hot"} > 99'),
    ),
    Defect(
        "alertmanager routes to an unknown receiver",
        "alerting.channels",
        "amtool check-config",
        _edit(AM, "- receiver: oncall-pager", "- receiver: nobody"),
    ),
    Defect(
        "runbook anchor missing",
        "alerting.escalation-documented",
        "has no section #deadletters",
        _edit("ops/runbooks/queue.md", "## DeadLetters", "## Dead-letter handling"),
    ),
    Defect(
        "runbook without escalation",
        "alerting.escalation-documented",
        "names no escalation",
        _edit(
            "ops/runbooks/llm.md",
            "Escalation: primary on-call → secondary on-call after "
            "15 min → engineering lead; GPU host",
            "GPU host",
        ),
    ),
    Defect(
        "alert without for:",
        "alerting.fatigue",
        "without a for:",
        _edit(
            RULES,
            "        for: 10m\n        labels:\n          severity: warning\n"
            "          service: platform\n        annotations:\n"
            '          summary: "Hot queue',
            "        labels:\n          severity: warning\n"
            "          service: platform\n        annotations:\n"
            '          summary: "Hot queue',
        ),
    ),
    Defect(
        "no inhibit rules",
        "alerting.fatigue",
        "no inhibit rule",
        _edit(AM, "inhibit_rules:", "inhibit_rules: []\nunused_inhibit_rules:"),
    ),
    Defect(
        "contacts empty",
        "backup.emergency-contacts",
        "no on-call contacts",
        _write("ops/contacts.yaml", "schema: 1\ncontacts: []\n"),
    ),
    Defect(
        "changelog lacks the version",
        "readiness.release-notes",
        "has no entry for version",
        _edit("CHANGELOG.md", f"## [{__version__}]", "## [0.0.9]"),
        target=True,
    ),
    Defect(
        "comms plan without templates",
        "readiness.comms-plan",
        "Templates",
        _edit("ops/communication-plan.md", "## Templates", "## Wording"),
    ),
    Defect(
        "no post-deployment checks collected",
        "readiness.post-deploy-defined",
        "postdeploy_5m",
        lambda root: None,
        paths=("acceptance/readiness",),
    ),
    Defect(
        "user issues over threshold",
        "post24h.user-issues",
        "more than 5",
        _write(
            "issues.json",
            json.dumps([{"title": f"bug {n}", "labels": [{"name": LABEL}]} for n in range(6)]),
        ),
        target=True,
        extra_config='user_issues_file = "{root}/issues.json"\n',
    ),
    Defect(
        "ToS register without GitHub",
        "tos.external-tos",
        "github: not in the register",
        _edit("ops/tos-register.yaml", "  - name: github\n", "  - name: gitlab\n"),
        target=True,
    ),
]


def ops_config(root: Path, extra: str = "") -> str:
    """A preflight.toml whose artefact paths all point into the broken copy at ``root``."""
    return (
        f'[release]\nchangelog = "{root}/CHANGELOG.md"\n\n[ops]\n'
        f'rules_files = ["{root}/{RULES}"]\n'
        f'rule_tests = ["{root}/ops/prometheus/alerts_test.yml"]\n'
        f'alertmanager_config = "{root}/{AM}"\n'
        f'runbooks_dir = "{root}/ops/runbooks"\n'
        f'contacts_file = "{root}/ops/contacts.yaml"\n'
        f'comms_plan = "{root}/ops/communication-plan.md"\n'
        f'tos_register = "{root}/ops/tos-register.yaml"\n' + extra.format(root=root)
    )


@pytest.fixture(scope="module")
def healthy_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One healthy stack for the checks that also read the target."""
    directory = tmp_path_factory.mktemp("ops-stack")
    with running_stack(StackOptions(workers=1, directory=directory / "stack")) as stack:
        yield stack.info.stack_json


@needs_tools
@pytest.mark.timeout(180)
@pytest.mark.parametrize("defect", DEFECTS, ids=[d.name for d in DEFECTS])
def test_check_fails_on_broken_artefact(
    defect: Defect, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The item ends `fail`, for the reason the defect implies."""
    root = tmp_path / "artefacts"
    shutil.copytree(REPO_ROOT / "ops", root / "ops")
    shutil.copy(REPO_ROOT / "CHANGELOG.md", root / "CHANGELOG.md")
    defect.breaks(root)
    stack_json = request.getfixturevalue("healthy_stack") if defect.target else None
    ids = [defect.checklist_id]
    items = run_artefact_checks(
        ids,
        tmp_path,
        config=ops_config(root, defect.extra_config),
        stack_json=stack_json,
        paths=defect.paths,
    )
    assert not failed(items, ids), failed(items, ids)
    assert defect.reason in str(items[defect.checklist_id].get("reason")), items[
        defect.checklist_id
    ]


@needs_tools
@pytest.mark.timeout(180)
def test_intact_copy_passes(tmp_path: Path) -> None:
    """The unbroken copy passes the file-only checks: the defects above are what fails them."""
    root = tmp_path / "artefacts"
    shutil.copytree(REPO_ROOT / "ops", root / "ops")
    ids = ["alerting.thresholds", "alerting.fatigue", "alerting.channels", "readiness.comms-plan"]
    items = run_artefact_checks(ids, tmp_path, config=ops_config(root))
    assert {i: items[i]["verdict"] for i in ids} == dict.fromkeys(ids, "pass") | {
        "readiness.comms-plan": "needs_confirmation"
    }


@pytest.fixture
def stack_github(healthy_stack: Path) -> Iterator[tuple[Path, httpx.Client]]:
    """The healthy stack and an admin client of its GitHub emulator, reset afterwards."""
    emulator = StackInfo.load(healthy_stack).emulators["github"]
    with httpx.Client(base_url=emulator["url"], timeout=10.0) as admin:
        try:
            yield healthy_stack, admin
        finally:
            admin.post("/_emulator/reset").raise_for_status()


@pytest.mark.timeout(180)
def test_flood_of_user_reports_fails(
    stack_github: tuple[Path, httpx.Client], tmp_path: Path
) -> None:
    """Users report more issues about the running release than user_issues_max: fail."""
    stack_json, admin = stack_github
    flood = {"count": 6, "labels": ["bug", "release:{version}"], "title": "Chat stream cut off"}
    admin.post("/_emulator/issues", json=flood).raise_for_status()
    items = run_artefact_checks(["post24h.user-issues"], tmp_path, stack_json=stack_json)
    item = items["post24h.user-issues"]
    assert item["verdict"] == "fail", item
    assert f"8 issues labelled {LABEL}, more than 5" in item["reason"], item


@pytest.mark.timeout(180)
def test_rate_limited_tracker_is_not_verified(
    stack_github: tuple[Path, httpx.Client], tmp_path: Path
) -> None:
    """GitHub's budget spent until an hour from now: not waited for, and never a pass."""
    stack_json, admin = stack_github
    fault = {"status": 403, "ratelimit_remaining_zero": True, "reset_after_s": 3600}
    admin.post("/_emulator/faults", json=fault).raise_for_status()
    items = run_artefact_checks(["post24h.user-issues"], tmp_path, stack_json=stack_json)
    item = items["post24h.user-issues"]
    assert item["verdict"] == "not_verified", item
    assert "rate limit (403)" in item["reason"], item
