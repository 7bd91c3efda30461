"""The GitHub emulator against GitHub's published shapes: githubkit's models are generated from
GitHub's OpenAPI description (REST API 2022-11-28), so an answer they parse, with no field the
schema lacks, is an answer a GitHub client reads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import RequestFailed
from githubkit_schemas.v2022_11_28.models import (
    BasicError,
    Issue,
    IssuePropLabelsItemsOneof1,
    IssuePropPullRequest,
    SimpleUser,
    ValidationError,
)
from pydantic import BaseModel

from service import __version__
from service.emulators.github import DEFAULT_REPO
from tests.support.emulators import GITHUB_TOKEN, Emulator, start_emulator, stop

pytestmark = pytest.mark.timeout(60)
OWNER, NAME = DEFAULT_REPO.split("/")
ISSUES = f"/repos/{DEFAULT_REPO}/issues"
RELEASE = f"release:{__version__}"
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


@pytest.fixture
def api(github: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=github.url, headers=HEADERS, timeout=10.0) as client:
        yield client


def add(github: Emulator, **spec: Any) -> dict[str, Any]:
    response = github.admin.post("/_emulator/issues", json=spec)
    response.raise_for_status()
    created: dict[str, Any] = response.json()
    return created


def assert_shape(
    model: type[BaseModel], data: dict[str, Any], *, beyond: frozenset[str] = frozenset()
) -> None:
    """Parses as the schema says, every required field present, no field the schema lacks
    (``beyond``: fields GitHub sends that the schema has not caught up with)."""
    model.model_validate(data)
    fields = {f.alias or name for name, f in model.model_fields.items()} | beyond
    required = {f.alias or name for name, f in model.model_fields.items() if f.is_required()}
    assert set(data) <= fields, f"{model.__name__}: not in the schema: {set(data) - fields}"
    assert required <= set(data), f"{model.__name__}: missing {required - set(data)}"


def test_issues_parse_as_githubkit_models(github: Emulator) -> None:
    """The official client lists the fixture: issue, user, label and pull_request objects."""
    with GitHub(
        TokenAuthStrategy(GITHUB_TOKEN), base_url=github.url, http_cache=False, auto_retry=False
    ) as gh:
        listed = gh.rest("2022-11-28").issues.list_for_repo(OWNER, NAME, state="all")
    assert listed.status_code == 200 and listed.parsed_data
    for raw in listed.json():
        assert_shape(Issue, raw)
        assert_shape(SimpleUser, raw["user"])
        for label in raw["labels"]:
            assert isinstance(label, dict), "labels are objects, not strings"
            assert_shape(IssuePropLabelsItemsOneof1, label)
        if "pull_request" in raw:
            assert_shape(IssuePropPullRequest, raw["pull_request"])
            assert raw["html_url"].endswith(f"/pull/{raw['number']}")
        else:
            assert raw["html_url"].endswith(f"/issues/{raw['number']}")
    assert sum("pull_request" in raw for raw in listed.json()) == 1


def test_wire_headers_and_compact_json(api: httpx.Client) -> None:
    """GitHub's response headers; timestamps in UTC with Z; newest issue first by default."""
    response = api.get(ISSUES, params={"state": "all"})
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["x-github-api-version-selected"] == "2022-11-28"
    assert response.headers["x-github-media-type"] == "github.v3; format=json"
    assert response.headers["server"] == "github.com" and response.headers["x-github-request-id"]
    assert response.text.startswith('[{"url":"') and ", " not in response.text[:200]
    numbers = [i["number"] for i in response.json()]
    assert numbers == sorted(numbers, reverse=True)
    assert response.json()[0]["created_at"].endswith("Z")


def test_label_and_state_filters(api: httpx.Client) -> None:
    """labels is an AND of names (case-insensitive); state defaults to open; all keeps both."""
    every = api.get(ISSUES, params={"labels": RELEASE, "state": "all"}).json()
    assert len(every) == 3 and all(RELEASE in {lb["name"] for lb in i["labels"]} for i in every)
    opened = api.get(ISSUES, params={"labels": RELEASE.upper()}).json()
    assert {i["state"] for i in opened} == {"open"} and 0 < len(opened) < len(every)
    both = api.get(ISSUES, params={"labels": f"{RELEASE},bug", "state": "all"}).json()
    assert len(both) == 1
    assert api.get(ISSUES, params={"labels": "no-such-label", "state": "all"}).json() == []


def test_pagination_by_link_header(github: Emulator, api: httpx.Client) -> None:
    """Link: next/last on page 1, prev/next/last/first in the middle, prev/first at the end;
    the links keep the query and point at /repositories/{id}/issues as GitHub's do."""
    add(github, count=7, labels=["flood"], title="Report")
    response = api.get(ISSUES, params={"labels": "flood", "per_page": "3"})
    seen: list[int] = []
    rels: list[list[str]] = []
    while True:
        seen += [i["number"] for i in response.json()]
        rels.append(list(response.links))
        following = response.links.get("next", {}).get("url")
        if following is None:
            break
        assert "/repositories/804512731/issues?" in following
        assert "labels=flood" in following and "per_page=3" in following
        response = api.get(following)
    assert rels == [["next", "last"], ["prev", "next", "last", "first"], ["prev", "first"]]
    assert len(seen) == 7 == len(set(seen))


def test_page_numbers_agree_with_links(github: Emulator) -> None:
    """githubkit's page-number pagination sees the same issues as following Link headers."""
    add(github, count=5, labels=["flood"])
    with GitHub(
        TokenAuthStrategy(GITHUB_TOKEN), base_url=github.url, http_cache=False, auto_retry=False
    ) as gh:
        rest = gh.rest("2022-11-28")
        paged = list(
            gh.rest.paginate(
                rest.issues.list_for_repo, owner=OWNER, repo=NAME, labels="flood", per_page=2
            )
        )
    assert len(paged) == 5 and all(isinstance(i, Issue) for i in paged)


def test_per_page_is_capped_at_100(github: Emulator, api: httpx.Client) -> None:
    """GitHub serves at most 100 per page whatever per_page asks; the default page is 30."""
    add(github, count=130, labels=["flood"])
    assert len(api.get(ISSUES, params={"labels": "flood", "per_page": "500"}).json()) == 100
    assert len(api.get(ISSUES, params={"labels": "flood"}).json()) == 30


def test_pull_requests_are_marked(github: Emulator, api: httpx.Client) -> None:
    """A pull request is listed with a pull_request key; an issue has none (not even null)."""
    add(github, count=2, labels=["flood"], pull_request=True)
    add(github, count=1, labels=["flood"])
    listed = api.get(ISSUES, params={"labels": "flood"}).json()
    assert sorted("pull_request" in i for i in listed) == [False, True, True]
    assert all(
        i["pull_request"]["url"].endswith(f"/pulls/{i['number']}")
        for i in listed
        if "pull_request" in i
    )


def test_unknown_repository_is_githubs_404(api: httpx.Client) -> None:
    """The exact body GitHub sends for a repository that does not exist (or is hidden)."""
    response = api.get("/repos/preflight-org/no-such-repo/issues")
    assert response.status_code == 404
    assert response.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/issues/issues#list-repository-issues",
        "status": "404",
    }
    assert_shape(BasicError, response.json())
    assert response.headers["x-ratelimit-remaining"]
    assert api.get("/nothing/here").json()["message"] == "Not Found"


def test_invalid_state_is_422(api: httpx.Client) -> None:
    """An unknown state value is a validation error naming the field."""
    response = api.get(ISSUES, params={"state": "bogus"})
    assert response.status_code == 422
    # GitHub's error bodies carry "status" as a string (as BasicError lists it); the
    # validation-error schema does not list it yet, the wire has it.
    assert_shape(ValidationError, response.json(), beyond=frozenset({"status"}))
    assert response.json()["errors"][0]["field"] == "state"


def test_rate_limit_headers_count_down(api: httpx.Client) -> None:
    """Every answer says limit, remaining, used, reset (epoch) and the resource."""
    first = api.get(ISSUES).headers
    second = api.get(ISSUES).headers
    assert first["x-ratelimit-limit"] == "1000" and first["x-ratelimit-resource"] == "core"
    assert int(second["x-ratelimit-remaining"]) == int(first["x-ratelimit-remaining"]) - 1
    assert int(second["x-ratelimit-used"]) == int(first["x-ratelimit-used"]) + 1
    assert int(first["x-ratelimit-reset"]) > time.time()


def test_injected_primary_rate_limit(github: Emulator, api: httpx.Client) -> None:
    """403 with x-ratelimit-remaining 0 and an epoch reset; the next request is served."""
    github.admin.post(
        "/_emulator/faults",
        json={
            "status": 403,
            "ratelimit_remaining_zero": True,
            "reset_after_s": 30,
            "count": 1,
        },
    ).raise_for_status()
    limited = api.get(ISSUES)
    assert limited.status_code == 403 and limited.headers["x-ratelimit-remaining"] == "0"
    assert 20 < int(limited.headers["x-ratelimit-reset"]) - time.time() <= 31
    assert limited.json()["message"].startswith("API rate limit exceeded for 127.0.0.1.")
    assert_shape(BasicError, limited.json())
    assert api.get(ISSUES).status_code == 200


def test_injected_secondary_rate_limit(github: Emulator, api: httpx.Client) -> None:
    """429 with retry-after and GitHub's secondary-limit message."""
    github.admin.post(
        "/_emulator/faults", json={"status": 429, "retry_after_s": 7, "count": 1}
    ).raise_for_status()
    limited = api.get(ISSUES)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert "secondary rate limit" in limited.json()["message"]


def test_budget_spent_is_403(tmp_path: Any) -> None:
    """Past the hourly budget GitHub refuses with 403 and remaining 0 until the reset."""
    proc, url = start_emulator("github", tmp_path, "--ratelimit-anonymous", "2")
    try:
        statuses = [httpx.get(f"{url}{ISSUES}", timeout=10).status_code for _ in range(3)]
        last = httpx.get(f"{url}{ISSUES}", timeout=10)
    finally:
        stop(proc)
    assert statuses == [200, 200, 403]
    assert last.headers["x-ratelimit-remaining"] == "0" and "good news" in last.json()["message"]


def test_tokens_checked_and_never_logged(github: Emulator, api: httpx.Client) -> None:
    """A wrong token is 401 Bad credentials; the request log keeps no token, only [redacted]."""
    bad = api.get(ISSUES, headers={"Authorization": "Bearer ghp_wrong"})
    good = api.get(ISSUES, headers={"Authorization": f"token {GITHUB_TOKEN}"})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    assert good.status_code == 200 and good.headers["x-ratelimit-limit"] == "5000"
    records = github.requests(ISSUES)
    assert [r["headers"]["authorization"] for r in records] == ["[redacted]", "[redacted]"]
    assert GITHUB_TOKEN not in github.requests_log.read_text()


def test_every_request_is_recorded(github: Emulator, api: httpx.Client) -> None:
    """Method, path, query and status of each API request; admin calls are not in the log."""
    api.get(ISSUES, params={"labels": RELEASE, "state": "all"})
    api.get("/repos/x/y/issues")
    records = github.requests()
    assert [(r["path"], r["status"]) for r in records] == [
        (ISSUES, 200),
        ("/repos/x/y/issues", 404),
    ]
    assert "labels=release" in records[0]["query"]
    lines = [json.loads(line) for line in github.requests_log.read_text().splitlines()]
    assert lines[-1]["path"] == "/repos/x/y/issues"


def test_admin_adds_and_reset_restores(github: Emulator, api: httpx.Client) -> None:
    """POST /_emulator/issues numbers new issues after the last; reset goes back to the fixture."""
    before = api.get(ISSUES, params={"state": "all", "per_page": "100"}).json()
    created = add(github, count=2, labels=["release:{version}"], title="Flood")
    assert created["created"] == [len(before) + 1, len(before) + 2]
    after = api.get(ISSUES, params={"labels": RELEASE, "state": "all"}).json()
    assert {i["title"] for i in after} >= {"Flood"}
    assert github.admin.post("/_emulator/issues", json={"count": 0}).status_code == 422
    assert github.admin.post("/_emulator/issues", json={"repo": "a/b"}).status_code == 404
    github.admin.post("/_emulator/reset").raise_for_status()
    assert len(api.get(ISSUES, params={"state": "all", "per_page": "100"}).json()) == len(before)


def test_official_client_raises_on_404(github: Emulator) -> None:
    """githubkit reads the 404 as GitHub's BasicError."""
    with (
        GitHub(
            TokenAuthStrategy(GITHUB_TOKEN), base_url=github.url, http_cache=False, auto_retry=False
        ) as gh,
        pytest.raises(RequestFailed) as caught,
    ):
        gh.rest("2022-11-28").issues.list_for_repo(OWNER, "missing")
    assert caught.value.response.status_code == 404
