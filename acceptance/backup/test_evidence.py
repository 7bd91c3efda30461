"""Backup Verification: emergency contacts are on file, reachable and in an escalation order.

An evidence item: the suite checks the contacts file's shape (every entry reachable by phone or
email, a strict escalation order); a person confirms the people and numbers are current.
"""

from __future__ import annotations

import re

import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import needs_confirmation
from acceptance.settings import SuiteConfig
from acceptance.support.ops_artefacts import artefact, load_yaml

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
PHONE = re.compile(r"^\+?[0-9][0-9 ()/.-]{5,}$")


@pytest.mark.checklist("backup.emergency-contacts")
def test_contacts_reachable_in_escalation_order(
    pytestconfig: pytest.Config, config: SuiteConfig, evidence: Evidence
) -> None:
    """Each on-call entry has a name, a role and a valid phone or email; the escalation order
    runs 1, 2, 3... without gaps or ties."""
    path = artefact(pytestconfig, config.ops.contacts_file)
    contacts = (load_yaml(path) or {}).get("contacts") or []
    assert contacts, f"{path.name}: no on-call contacts"
    problems = []
    for n, entry in enumerate(contacts):
        who = entry.get("name") or f"entry {n + 1}"
        if not entry.get("name") or not entry.get("role"):
            problems.append(f"{who}: name and role required")
        email, phone = str(entry.get("email") or ""), str(entry.get("phone") or "")
        if not EMAIL.match(email) and not PHONE.match(phone):
            problems.append(f"{who}: no valid phone or email")
    order = sorted(int(entry.get("escalation_order") or 0) for entry in contacts)
    if order != list(range(1, len(contacts) + 1)):
        problems.append(f"escalation_order must run 1..{len(contacts)}, got {order}")
    evidence.add(
        contacts=len(contacts),
        escalation=[f"{e.get('escalation_order')}: {e.get('role')}" for e in contacts],
    )
    assert not problems, "; ".join(problems)
    needs_confirmation(
        f"{len(contacts)} on-call contacts on file; a person confirms they are current"
    )
