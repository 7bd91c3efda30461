"""Alerting: every alert links a runbook section that exists and says whom to escalate to.

An evidence item: the suite proves the links resolve and each section names an escalation path
made of roles from the contacts file; whether the procedure is right, a person confirms.
"""

from __future__ import annotations

import re

import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import needs_confirmation
from acceptance.settings import SuiteConfig
from acceptance.support.ops_artefacts import (
    artefact,
    load_alert_rules,
    load_yaml,
    markdown_sections,
    runbook_target,
)

_ESCALATION = re.compile(r"^\W*escalation\W*:?(.*)$", re.IGNORECASE | re.MULTILINE)


def escalation_roles(section: str, roles: set[str]) -> list[str]:
    """Contact roles named in the section's escalation paragraph (from "Escalation" to the next
    blank line), in the order they appear there."""
    found = _ESCALATION.search(section)
    if found is None:
        return []
    paragraph = section[found.start() :].split("\n\n", 1)[0].lower()
    return sorted(
        (r for r in roles if r.lower() in paragraph), key=lambda r: paragraph.index(r.lower())
    )


@pytest.mark.checklist("alerting.escalation-documented")
def test_runbooks_name_escalation_paths(
    pytestconfig: pytest.Config, config: SuiteConfig, evidence: Evidence
) -> None:
    """Each alert's runbook_url resolves to a section of a runbook in the repository, and that
    section has an escalation paragraph naming on-call roles from the contacts file."""
    ops = config.ops
    rules = load_alert_rules([artefact(pytestconfig, p) for p in ops.rules_files])
    contacts = load_yaml(artefact(pytestconfig, ops.contacts_file)) or {}
    roles = {str(c.get("role")) for c in contacts.get("contacts") or [] if c.get("role")}
    assert roles, f"{ops.contacts_file}: no contact roles to escalate to"
    runbooks = ops.runbooks_dir
    root = runbooks if runbooks.is_absolute() else pytestconfig.rootpath / runbooks
    problems: list[str] = []
    paths: dict[str, list[str]] = {}
    for rule in rules:
        url = rule.annotations.get("runbook_url")
        if not url:
            problems.append(f"{rule.name}: no runbook_url")
            continue
        path, anchor = runbook_target(url, root)
        if not path.is_file():
            problems.append(f"{rule.name}: runbook {path.name} does not exist")
            continue
        section = markdown_sections(path.read_text(encoding="utf-8")).get(anchor)
        if not anchor or section is None:
            problems.append(f"{rule.name}: {path.name} has no section #{anchor}")
            continue
        named = escalation_roles(section, roles)
        if not named:
            problems.append(f"{rule.name}: {path.name}#{anchor} names no escalation path")
        paths[rule.name] = named
    evidence.add(alerts=len({r.name for r in rules}), escalation=paths)
    assert not problems, "; ".join(problems)
    needs_confirmation(
        f"{len(paths)} alerts link runbook sections with escalation paths; "
        "a person confirms the procedures are current"
    )
