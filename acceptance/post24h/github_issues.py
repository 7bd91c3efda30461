"""User-reported issues from GitHub's REST API, for ``post24h.user-issues``.

``GET {api}/repos/{owner}/{repo}/issues?labels=L&state=all&per_page=100`` with GitHub's documented
headers (``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version: 2022-11-28``), the token
only when one is configured, following ``Link: rel="next"`` (httpx parses it: ``Response.links``)
for at most ``max_pages`` pages and never to another origin (the token would go with it). The
endpoint lists pull requests too (they carry a ``pull_request`` key); they are not user reports
and are counted apart. A rate-limit answer (403/429 with ``retry-after`` or
``x-ratelimit-remaining: 0``) is waited out while the total wait stays within ``max_wait_s``;
beyond that, as for any answer that is not a page of issues, the source is unavailable and the
check says so instead of guessing.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
PER_PAGE = 100  # GitHub's largest page: fewest requests against the hourly budget
# GitHub's advice for a secondary limit without retry-after: wait at least a minute.
DEFAULT_RATE_WAIT_S = 60.0
ATTEMPTS_PER_PAGE = 3  # rate-limit retries of one page, whatever the waits add up to


class SourceUnavailable(Exception):
    """The issue tracker could not be read completely; the check is not verified."""


@dataclass(frozen=True)
class GitHubSource:
    """Where the issues are: an API base URL, ``owner/name``, an optional token."""

    api: str
    repo: str
    token: SecretStr | None = field(default=None, repr=False)
    what: str = "GitHub"  # for the evidence: "GitHub" or "the stack's GitHub emulator"

    @property
    def issues_url(self) -> str:
        return f"{self.api.rstrip('/')}/repos/{self.repo}/issues"


@dataclass
class Tally:
    """What the pages said: the labelled issues (pull requests apart) and how they were read."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    pull_requests: int = 0
    pages: int = 0
    complete: bool = True
    rate_waited_s: float = 0.0


def labels_of(issue: dict[str, Any]) -> set[str]:
    """Label names, given as strings (an export) or as GitHub's ``{"name": ...}`` objects."""
    raw = issue.get("labels") or []
    return {str(lb.get("name") if isinstance(lb, dict) else lb) for lb in raw}


def has_label(issue: dict[str, Any], label: str) -> bool:
    """GitHub compares label names case-insensitively; so does the count."""
    return label.casefold() in {name.casefold() for name in labels_of(issue)}


def rate_limit_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds GitHub asks to wait before retrying, or None if this is not a rate-limit answer."""
    if response.status_code not in (403, 429):
        return None
    retry_after = response.headers.get("retry-after", "")
    if retry_after.isdigit():
        return float(retry_after)
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset", "")
        return max(0.0, float(reset) - now) if reset.isdigit() else DEFAULT_RATE_WAIT_S
    if response.status_code == 429 or "rate limit" in _message(response).lower():
        return DEFAULT_RATE_WAIT_S
    return None  # a 403 for another reason: no access


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _refuse_plain_http(source: GitHubSource) -> None:
    """A token goes only over HTTPS, or to a loopback address (a local emulator)."""
    url = httpx.URL(source.api)
    if source.token is None or url.scheme == "https":
        return
    try:
        loopback = ipaddress.ip_address(url.host).is_loopback
    except ValueError:
        loopback = url.host == "localhost"
    if not loopback:
        raise SourceUnavailable(f"{source.api}: not sending the GitHub token over plain HTTP")


def labelled_issues(
    source: GitHubSource,
    label: str,
    *,
    max_pages: int,
    max_wait_s: float,
    timeout: float,
    user_agent: str,
    transport: httpx.BaseTransport | None = None,
) -> Tally:
    """Every issue labelled ``label`` (open and closed), pull requests counted apart.

    ``transport`` is for the tests of this module (a server that misbehaves on purpose).
    """
    _refuse_plain_http(source)
    headers = {"Accept": MEDIA_TYPE, "X-GitHub-Api-Version": API_VERSION, "User-Agent": user_agent}
    if source.token is not None:
        headers["Authorization"] = f"Bearer {source.token.get_secret_value()}"
    start = httpx.URL(source.issues_url)
    url: httpx.URL | None = start.copy_merge_params(
        {"labels": label, "state": "all", "per_page": str(PER_PAGE)}
    )
    tally = Tally()
    with httpx.Client(
        headers=headers, timeout=timeout, follow_redirects=False, transport=transport
    ) as http:
        while url is not None:
            if tally.pages == max_pages:
                tally.complete = False
                break
            response = _get_page(http, url, source, tally, max_wait_s)
            tally.pages += 1
            _count_page(response, source, label, tally)
            following = response.links.get("next", {}).get("url")
            url = None if following is None else response.url.join(following)
            if url is not None and _origin(url) != _origin(start):
                raise SourceUnavailable(
                    f"{source.issues_url}: next-page link leads to {url.host}; not followed"
                )
    return tally


def _get_page(
    http: httpx.Client, url: httpx.URL, source: GitHubSource, tally: Tally, max_wait_s: float
) -> httpx.Response:
    """One page, rate-limit answers waited out within the budget; other failures raise."""
    for _attempt in range(ATTEMPTS_PER_PAGE):
        try:
            response = http.get(url)
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"{source.issues_url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 200:
            return response
        wait = rate_limit_wait(response, time.time())
        if wait is None:
            raise SourceUnavailable(_failure(response, source))
        if tally.rate_waited_s + wait > max_wait_s:
            raise SourceUnavailable(
                f"{source.what} rate limit ({response.status_code}): asked to wait {wait:.0f} s, "
                f"more than ops.user_issues_rate_wait_max_s = {max_wait_s:g}"
            )
        # Honouring GitHub's retry-after / reset is the point here (continuing to call while
        # limited risks a ban): a backoff the server asked for, not a wait for some state.
        time.sleep(wait)
        tally.rate_waited_s += wait
    raise SourceUnavailable(f"{source.what} still rate limited after {ATTEMPTS_PER_PAGE} tries")


def _failure(response: httpx.Response, source: GitHubSource) -> str:
    hint = {401: " (bad or expired token)", 404: " (unknown repository, or no access to it)"}
    return (
        f"{source.issues_url} answered {response.status_code}"
        f"{hint.get(response.status_code, '')}: {_message(response)[:200]}"
    )


def _count_page(response: httpx.Response, source: GitHubSource, label: str, tally: Tally) -> None:
    try:
        items = response.json()
    except ValueError as exc:
        raise SourceUnavailable(f"{source.issues_url}: answer is not JSON") from exc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SourceUnavailable(f"{source.issues_url}: answer is not a list of issues")
    for item in items:
        # The filter is the server's; counting only what carries the label keeps a server or
        # proxy that ignored ``labels`` from inflating the count.
        if not has_label(item, label):
            continue
        if "pull_request" in item:
            tally.pull_requests += 1
        else:
            tally.issues.append(item)
