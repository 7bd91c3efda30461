"""Deployment Readiness: the release notes and the communication plan exist and are filled in.

Evidence items: the suite finds the changelog entry of the version the target runs and the
sections of the communication plan; whether they say the right things, a person confirms.
"""

from __future__ import annotations

import re

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.verdicts import needs_confirmation
from acceptance.settings import SuiteConfig
from acceptance.support.api import get_json
from acceptance.support.ops_artefacts import artefact, markdown_sections

_ENTRY = re.compile(r"^##\s+\[?v?(?P<version>[^\]\s]+)\]?.*$", re.MULTILINE)


def changelog_entry(text: str, version: str) -> str | None:
    """Body of the ``## [version]`` entry (up to the next ``## ``); None when there is none."""
    heads = list(_ENTRY.finditer(text))
    for n, head in enumerate(heads):
        if head.group("version") == version:
            end = heads[n + 1].start() if n + 1 < len(heads) else len(text)
            return text[head.end() : end]
    return None


def substance(body: str) -> list[str]:
    """Lines of an entry that say something (headings and blank lines do not)."""
    return [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


@pytest.mark.checklist("readiness.release-notes")
def test_changelog_has_entry_for_running_version(
    pytestconfig: pytest.Config,
    config: SuiteConfig,
    anon_client: httpx.Client,
    evidence: Evidence,
) -> None:
    """The changelog has a non-empty entry for the version /version reports."""
    version = str(get_json(anon_client, "/version").get("version"))
    path = artefact(pytestconfig, config.release.changelog)
    body = changelog_entry(path.read_text(encoding="utf-8"), version)
    assert body is not None, f"{path.name} has no entry for version {version}"
    lines = substance(body)
    evidence.add(version=version, changelog=path.name, entry_lines=len(lines))
    assert lines, f"{path.name}: the entry for {version} is empty"
    needs_confirmation(f"{path.name} has {len(lines)} lines for {version}; a person confirms")


@pytest.mark.checklist("readiness.comms-plan")
def test_communication_plan_has_sections(
    pytestconfig: pytest.Config, config: SuiteConfig, evidence: Evidence
) -> None:
    """The communication plan exists and fills each required section."""
    path = artefact(pytestconfig, config.ops.comms_plan)
    text = path.read_text(encoding="utf-8")
    sections = {slug: substance(body) for slug, body in markdown_sections(text).items()}
    wanted = {
        name: name.strip().lower().replace(" ", "-") for name in config.ops.comms_plan_sections
    }
    missing = [name for name, slug in wanted.items() if not sections.get(slug)]
    evidence.add(plan=path.name, sections=sorted(sections), required=list(wanted))
    assert not missing, f"{path.name}: missing or empty sections {missing}"
    needs_confirmation(f"{path.name} has every required section; a person confirms it is current")
