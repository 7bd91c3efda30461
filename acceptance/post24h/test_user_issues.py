"""Extended Monitoring: user-reported issues about the release are few.

Counted from one source (``[ops]``): an export file (JSON or YAML, e.g. a saved answer of GitHub's
issues API) if configured, else GitHub's REST API for ``user_issues_repo``, else the GitHub
emulator of the reference stack under test; against an external target with none configured
the item is not verified. Over the threshold fails; under it a person still reads them (needs
confirmation), because "few" says nothing about how bad they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import USER_AGENT, Target
from acceptance.harness.verdicts import needs_confirmation, not_verified
from acceptance.post24h.github_issues import (
    GitHubSource,
    SourceUnavailable,
    Tally,
    has_label,
    labelled_issues,
)
from acceptance.settings import SuiteConfig
from acceptance.settings.ops import OpsSettings
from acceptance.support.api import get_json
from acceptance.support.ops_artefacts import artefact, load_yaml

NO_SOURCE = (
    "no source of user-reported issues: set ops.user_issues_repo (GitHub) or "
    "ops.user_issues_file (the target is not a reference stack with a GitHub emulator)"
)
LISTED = 10  # issues named in the evidence; the rest are counted


def github_source(ops: OpsSettings, target: Target) -> GitHubSource:
    """The configured repository, else the stack's emulator (never given the real token)."""
    if ops.user_issues_repo is not None:
        return GitHubSource(ops.user_issues_api, ops.user_issues_repo, ops.user_issues_token)
    emulators = target.stack.emulators if target.stack is not None else {}
    emulator = emulators.get("github")
    if not emulator or not emulator.get("url") or not emulator.get("repo"):
        not_verified(NO_SOURCE)
    return GitHubSource(str(emulator["url"]), str(emulator["repo"]), None, "GitHub emulator")


def from_file(pytestconfig: pytest.Config, path: Path, label: str) -> tuple[Tally, str]:
    data = load_yaml(artefact(pytestconfig, path))
    issues = data.get("issues") if isinstance(data, dict) else data
    assert isinstance(issues, list), f"{path}: expected a list of issues"
    tally = Tally(pages=1)
    for issue in issues:
        if isinstance(issue, dict) and has_label(issue, label):
            if "pull_request" in issue:
                tally.pull_requests += 1
            else:
                tally.issues.append(issue)
    return tally, f"file {path}"


def from_github(config: SuiteConfig, target: Target, label: str) -> tuple[Tally, str]:
    source = github_source(config.ops, target)
    try:
        tally = labelled_issues(
            source,
            label,
            max_pages=config.ops.user_issues_max_pages,
            max_wait_s=config.ops.user_issues_rate_wait_max_s,
            timeout=config.http_timeout_s,
            user_agent=USER_AGENT,
        )
    except SourceUnavailable as exc:
        not_verified(str(exc))
    return tally, f"{source.what} {source.issues_url}"


def _named(issue: dict[str, Any]) -> str:
    number = issue.get("number")
    return f"#{number} {issue.get('title')}" if number is not None else str(issue.get("title"))


@pytest.mark.checklist("post24h.user-issues")
def test_user_issues_under_threshold(
    pytestconfig: pytest.Config,
    config: SuiteConfig,
    target: Target,
    anon_client: httpx.Client,
    evidence: Evidence,
) -> None:
    """Issues labelled for the running version are at most ``ops.user_issues_max``."""
    ops = config.ops
    version = str(get_json(anon_client, "/version").get("version"))
    label = ops.user_issues_label.format(version=version)
    if ops.user_issues_file is not None:
        tally, source = from_file(pytestconfig, Path(ops.user_issues_file), label)
    else:
        tally, source = from_github(config, target, label)
    count = len(tally.issues)
    evidence.add(
        label=label,
        count=count,
        max=ops.user_issues_max,
        issues=[_named(i) for i in tally.issues[:LISTED]],
        pull_requests_excluded=tally.pull_requests,
        source=source,
        pages=tally.pages,
        rate_limit_waited_s=round(tally.rate_waited_s, 1),
    )
    assert count <= ops.user_issues_max, (
        f"{count}{'' if tally.complete else '+'} issues labelled {label}, "
        f"more than {ops.user_issues_max} ({source})"
    )
    if not tally.complete:
        not_verified(f"more than {ops.user_issues_max_pages} pages of issues labelled {label}")
    needs_confirmation(f"{count} issues labelled {label} ({source}); a person reads them")
