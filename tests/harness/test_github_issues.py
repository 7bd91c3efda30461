"""acceptance/post24h/github_issues.py against the GitHub emulator: pages, pull requests, headers,
rate limits and the failures that make post24h.user-issues not verified instead of guessing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from acceptance.post24h.github_issues import (
    GitHubSource,
    SourceUnavailable,
    Tally,
    labelled_issues,
    rate_limit_wait,
)
from service.emulators.github import DEFAULT_REPO
from tests.support.emulators import GITHUB_TOKEN, Emulator, running_emulator

pytestmark = pytest.mark.timeout(60)
ISSUES = f"/repos/{DEFAULT_REPO}/issues"


@pytest.fixture(scope="module")
def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    flags = ("--token", GITHUB_TOKEN, "--ratelimit-anonymous", "1000")
    with running_emulator("github", tmp_path_factory.mktemp("github"), *flags) as emulator:
        yield emulator


@pytest.fixture
def github(_server: Emulator) -> Emulator:
    _server.admin.post("/_emulator/reset").raise_for_status()
    return _server


def count(source: GitHubSource, label: str = "flood", **options: Any) -> Tally:
    settings: dict[str, Any] = {"max_pages": 10, "max_wait_s": 5.0, "timeout": 10.0}
    return labelled_issues(source, label, user_agent="preflight-test", **{**settings, **options})


def flood(github: Emulator, n: int, **spec: Any) -> None:
    body = {"count": n, "labels": ["flood"], **spec}
    github.admin.post("/_emulator/issues", json=body).raise_for_status()


def test_counts_every_page_without_pull_requests(github: Emulator) -> None:
    """150 issues and 3 pull requests labelled: two pages of 100, the PRs counted apart."""
    flood(github, 150)
    flood(github, 3, pull_request=True)
    tally = count(GitHubSource(github.url, DEFAULT_REPO))
    assert (len(tally.issues), tally.pull_requests, tally.pages) == (150, 3, 2)
    assert tally.complete and len({i["number"] for i in tally.issues}) == 150
    second = github.requests()[-1]
    assert second["path"].startswith("/repositories/") and "page=2" in second["query"]


def test_pages_are_bounded(github: Emulator) -> None:
    """At most max_pages requests; what was not read makes the tally incomplete."""
    flood(github, 120)
    tally = count(GitHubSource(github.url, DEFAULT_REPO), max_pages=1)
    assert (len(tally.issues), tally.pages, tally.complete) == (100, 1, False)
    assert len(github.requests(ISSUES)) == 1


def test_documented_headers_and_token(github: Emulator) -> None:
    """Accept, X-GitHub-Api-Version, the token as Bearer (redacted in the log), all states."""
    count(GitHubSource(github.url, DEFAULT_REPO, SecretStr(GITHUB_TOKEN)))
    (record,) = github.requests(ISSUES)
    assert record["headers"]["accept"] == "application/vnd.github+json"
    assert record["headers"]["x-github-api-version"] == "2022-11-28"
    assert record["headers"]["authorization"] == "[redacted]" and record["status"] == 200
    assert "state=all" in record["query"] and "per_page=100" in record["query"]


def test_short_rate_limit_is_waited_out(github: Emulator) -> None:
    """A 429 with retry-after 1 inside the budget: waited, then the page is read."""
    fault = {"status": 429, "retry_after_s": 1, "count": 1}
    github.admin.post("/_emulator/faults", json=fault).raise_for_status()
    tally = count(GitHubSource(github.url, DEFAULT_REPO), label="bug")
    assert tally.rate_waited_s == 1.0 and tally.complete and tally.issues
    assert [r["status"] for r in github.requests(ISSUES)] == [429, 200]


def test_long_rate_limit_is_unavailable(github: Emulator) -> None:
    """x-ratelimit-remaining 0 with the reset an hour away: not waited, the source is out."""
    fault = {"status": 403, "ratelimit_remaining_zero": True, "reset_after_s": 3600}
    github.admin.post("/_emulator/faults", json=fault).raise_for_status()
    with pytest.raises(SourceUnavailable, match=r"rate limit \(403\): asked to wait 3[56]\d\d s"):
        count(GitHubSource(github.url, DEFAULT_REPO))
    assert len(github.requests(ISSUES)) == 1


@pytest.mark.parametrize(
    ("repo", "token", "message"),
    [
        ("preflight-org/missing", None, "answered 404 (unknown repository"),
        (DEFAULT_REPO, "ghp_wrong_token", "answered 401 (bad or expired token): Bad credentials"),
    ],
)
def test_failures_are_unavailable(
    github: Emulator, repo: str, token: str | None, message: str
) -> None:
    """404 and 401 end the count with GitHub's message, never with the token."""
    secret = SecretStr(token) if token else None
    with pytest.raises(SourceUnavailable, match=re.escape(message)) as caught:
        count(GitHubSource(github.url, repo, secret))
    assert "ghp_wrong_token" not in str(caught.value)


def test_no_token_over_plain_http() -> None:
    """A token for a plain-HTTP API off this machine is not sent at all."""
    source = GitHubSource("http://github.example.invalid", DEFAULT_REPO, SecretStr("t"))
    with pytest.raises(SourceUnavailable, match="not sending the GitHub token over plain HTTP"):
        count(source)


def test_next_link_to_another_origin_is_not_followed() -> None:
    """A Link that leaves the API's origin would take the token along: refused."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        link = '<https://elsewhere.invalid/repositories/1/issues?page=2>; rel="next"'
        return httpx.Response(200, json=[], headers={"link": link})

    source = GitHubSource("https://api.github.com", DEFAULT_REPO, SecretStr("t"))
    with pytest.raises(SourceUnavailable, match=r"next-page link leads to elsewhere\.invalid"):
        count(source, transport=httpx.MockTransport(answer))
    assert [r.url.host for r in sent] == ["api.github.com"]


@pytest.mark.parametrize(
    ("status", "headers", "body", "wait"),
    [
        (429, {"retry-after": "7"}, {}, 7.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}, {}, 30.0),
        (403, {}, {"message": "You have exceeded a secondary rate limit."}, 60.0),
        (429, {}, {}, 60.0),
        (403, {}, {"message": "Resource not accessible by integration"}, None),
        (500, {"retry-after": "1"}, {}, None),
    ],
)
def test_rate_limit_wait(
    status: int, headers: dict[str, str], body: dict[str, str], wait: float | None
) -> None:
    """retry-after first, then the reset epoch, else GitHub's advice of a minute; a 403 that
    is not about limits is no rate limit."""
    response = httpx.Response(status, headers=headers, json=body)
    assert rate_limit_wait(response, now=1000.0) == wait


def test_module_keeps_the_token_out_of_reprs() -> None:
    """A GitHubSource printed by pytest on failure shows no token."""
    source = GitHubSource("https://api.github.com", DEFAULT_REPO, SecretStr("ghp_secret"))
    assert "ghp_secret" not in repr(source) and "ghp_secret" not in str(source)
