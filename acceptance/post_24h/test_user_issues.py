"""Extended Monitoring: user-reported issues about the release are few.

Counted from a configured export of the issue tracker (JSON or YAML, e.g. the GitHub issues API's
answer); over the threshold fails, under it a person still reads them (needs confirmation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from acceptance.api import get_json
from acceptance.config import SuiteConfig
from acceptance.fixtures import Evidence
from acceptance.ops_artefacts import artefact, load_yaml
from acceptance.verdicts import needs_confirmation, not_verified


def labels_of(issue: dict[str, Any]) -> set[str]:
    """Label names, whether given as strings or as GitHub's ``{"name": ...}`` objects."""
    raw = issue.get("labels") or []
    return {str(lb.get("name") if isinstance(lb, dict) else lb) for lb in raw}


@pytest.mark.checklist("post24h.user-issues")
def test_user_issues_under_threshold(
    pytestconfig: pytest.Config,
    config: SuiteConfig,
    anon_client: httpx.Client,
    evidence: Evidence,
) -> None:
    """Issues labelled for the running version are at most ``ops.user_issues_max``."""
    ops = config.ops
    if ops.user_issues_file is None:
        not_verified("no source of user-reported issues (set ops.user_issues_file)")
    data = load_yaml(artefact(pytestconfig, Path(ops.user_issues_file)))
    issues = data.get("issues") if isinstance(data, dict) else data
    assert isinstance(issues, list), f"{ops.user_issues_file}: expected a list of issues"
    version = str(get_json(anon_client, "/version").get("version"))
    label = ops.user_issues_label.format(version=version)
    labelled = [i for i in issues if isinstance(i, dict) and label in labels_of(i)]
    evidence.add(
        label=label,
        issues=len(labelled),
        max=ops.user_issues_max,
        titles=[str(i.get("title")) for i in labelled[:10]],
    )
    assert len(labelled) <= ops.user_issues_max, (
        f"{len(labelled)} issues labelled {label}, more than {ops.user_issues_max}"
    )
    needs_confirmation(f"{len(labelled)} issues labelled {label}; a person reads them")
