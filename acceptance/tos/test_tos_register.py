"""Terms of Service: the platform identifies itself to external services and a register lists
each service's rules.

An evidence item: the suite checks the register's shape and that outbound requests carry a
User-Agent with a contact (admin config, and the emulators' request logs on the reference stack);
that the listed rules match the services' current terms, a person confirms.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import USER_AGENT, Target
from acceptance.harness.verdicts import needs_confirmation, not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json
from acceptance.support.logfiles import read_records
from acceptance.support.ops_artefacts import artefact, load_yaml

CONTACT = re.compile(r"(mailto:|https?://|[^@\s]+@[^@\s]+\.[a-z]{2,})", re.IGNORECASE)


def register_problems(services: list[dict[str, Any]], required: list[str]) -> list[str]:
    """What the register lacks: a required service, or per entry terms link and rules."""
    names = {str(s.get("name")) for s in services}
    problems = [f"{name}: not in the register" for name in required if name not in names]
    for entry in services:
        name = entry.get("name")
        if not str(entry.get("terms_url", "")).startswith(("https://", "http://")):
            problems.append(f"{name}: no terms_url link")
        if not entry.get("rules"):
            problems.append(f"{name}: no rules listed")
    return problems


def outbound_agents(target: Target, services: list[dict[str, Any]]) -> set[str]:
    """User-Agents the platform sent to the emulated external (not self-hosted) services."""
    stack = target.stack
    if stack is None:
        return set()
    external = {str(s.get("emulator", s.get("name"))) for s in services if not s.get("self_hosted")}
    agents: set[str] = set()
    for name, info in stack.emulators.items():
        log = info.get("requests_log")
        if name in external and log and Path(log).is_file():
            records, _ = read_records(Path(log).read_text(encoding="utf-8", errors="replace"))
            # /health is the stack's own readiness probe, not the platform talking to the site.
            agents |= {
                str(r.get("headers", {}).get("user-agent"))
                for r in records
                if r.get("path") != "/health"
            }
    return {a for a in agents if not a.startswith(USER_AGENT.split("/")[0])}


@pytest.mark.checklist("tos.external-tos")
def test_tos_register_and_identification(
    pytestconfig: pytest.Config,
    config: SuiteConfig,
    target: Target,
    optional_admin_client: httpx.Client | None,
    evidence: Evidence,
) -> None:
    """The ToS register lists every external service with its terms and rules, and the service
    declares (admin config) and sends (ground truth) a User-Agent with a contact."""
    path = artefact(pytestconfig, config.ops.tos_register)
    services = (load_yaml(path) or {}).get("services") or []
    problems = register_problems(services, config.ops.tos_services)
    agents = outbound_agents(target, services)
    evidence.add(services=[s.get("name") for s in services], outbound_user_agents=sorted(agents))
    assert not problems, f"{path.name}: {'; '.join(problems)}"
    anonymous = sorted(a for a in agents if not CONTACT.search(a))
    assert not anonymous, f"outbound requests without a contact in the User-Agent: {anonymous}"
    if optional_admin_client is None:
        not_verified("no admin key: the service's outbound identity cannot be read")
    settings = get_json(optional_admin_client, "/admin/config").get("settings", {})
    declared = {k: str(v) for k, v in settings.items() if "contact" in k or "user_agent" in k}
    evidence.add(declared=declared)
    assert any(CONTACT.search(v) for v in declared.values()), (
        "admin config declares no outbound contact (User-Agent) for external services"
    )
    needs_confirmation(
        f"{len(services)} services in {path.name}; a person confirms the rules match their terms"
    )
