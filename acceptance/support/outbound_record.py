"""Who says what the platform sent to an external site: the site itself, or the platform.

Two sources of one shape (records with ``time``, ``path``, ``status``, ``duration_ms``), so the
arXiv cadence and ToS checks judge both with the same functions (``acceptance/support/
ingestion.py``): the reference stack's emulators record every request they receive (the
receiving side, ground truth), and the platform keeps its own record of every request it sent
and every robots.txt decision it took (``GET /admin/outbound/requests``, admin key), which is
what a deployment whose external sites the suite cannot ask gives. ``[ingestion]
outbound_source`` picks one; by default the site's where the stack has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.providers import emulator, provider_requests

Entry = dict[str, Any]
ROUTE = "/admin/outbound/requests"


class RequestRecord(Protocol):
    """The requests a site received from the platform (and, when known, robots decisions)."""

    @property
    def what(self) -> str:
        """Whose record it is, for the evidence."""
        ...

    @property
    def receiving_side(self) -> bool:
        """The site's own log (it counts every request since the site started)."""
        ...

    def requests(self) -> list[Entry]:
        """Every recorded request, in any order."""
        ...

    def robots_decisions(self) -> list[Entry] | None:
        """The platform's robots.txt decisions about the site; None: this source has none."""
        ...


@dataclass(frozen=True)
class SiteLog:
    """A reference-stack emulator's request log."""

    info: dict[str, Any]
    timeout: float
    what: str = "the site's own request log (reference stack)"
    receiving_side: bool = True

    def requests(self) -> list[Entry]:
        return provider_requests(self.info, self.timeout)

    def robots_decisions(self) -> list[Entry] | None:
        return None


@dataclass(frozen=True)
class PlatformRecord:
    """The platform's ``GET /admin/outbound/requests``, narrowed to one site or destination."""

    admin_client: httpx.Client
    host_port: str | None = None  # one site, "host:port"
    destination: str | None = None  # or every site of a destination label ("arxiv")
    what: str = f"the platform's record ({ROUTE})"
    receiving_side: bool = False

    def _entries(self, kind: str) -> list[Entry]:
        answer = self.admin_client.get(ROUTE)
        if answer.status_code in (404, 405):
            not_verified(f"the target has no {ROUTE} and its sites cannot be asked")
        assert answer.status_code == 200, f"{ROUTE}: {answer.status_code} {answer.text[:200]}"
        found: list[Entry] = []
        for host, record in answer.json().get("destinations", {}).items():
            for entry in record.get(kind, []):
                if self.host_port in (None, host) and self.destination in (
                    None,
                    entry.get("destination"),
                ):
                    found.append(entry)
        return found

    def requests(self) -> list[Entry]:
        return self._entries("requests")

    def robots_decisions(self) -> list[Entry] | None:
        return self._entries("robots")


def host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _platform(admin_client: httpx.Client | None, what: str) -> httpx.Client:
    if admin_client is None:
        not_verified(
            f"no record of the platform's requests to {what}: its own record needs an admin key "
            "(PREFLIGHT_ADMIN_KEY)"
        )
    return admin_client


def arxiv_record(
    target: Target, config: SuiteConfig, admin_client: httpx.Client | None
) -> RequestRecord:
    """The requests arXiv received from the platform."""
    info = emulator(target, "arxiv")
    if info is not None and config.ingestion.outbound_source != "platform":
        return SiteLog(info, config.http_timeout_s)
    if config.ingestion.outbound_source == "site":
        not_verified("[ingestion] outbound_source = 'site' needs the reference stack's arXiv")
    return PlatformRecord(_platform(admin_client, "arXiv"), destination="arxiv")


def robots_site(
    target: Target, config: SuiteConfig, admin_client: httpx.Client | None
) -> tuple[str, RequestRecord]:
    """The site the robots and rate-limit checks fetch from, and the record of its requests."""
    info = emulator(target, "robots")
    url = config.ingestion.robots_site_url or (info or {}).get("url")
    if not url:
        not_verified(
            "no site to fetch pages from: set [ingestion] robots_site_url "
            "(PREFLIGHT_INGESTION__ROBOTS_SITE_URL)"
        )
    url = str(url).rstrip("/")
    if (
        info is not None
        and info.get("url") == url
        and config.ingestion.outbound_source != "platform"
    ):
        return url, SiteLog(info, config.http_timeout_s)
    if config.ingestion.outbound_source == "site":
        not_verified("[ingestion] outbound_source = 'site' needs the reference stack's site")
    return url, PlatformRecord(_platform(admin_client, url), host_port=host_port(url))


def redirector(
    target: Target, config: SuiteConfig, admin_client: httpx.Client | None
) -> tuple[str, RequestRecord] | None:
    """An allowlisted open redirect (``{url}`` in it is the destination) and the record of the
    requests it received; None when the run has none (``[ingestion] egress_redirect_url``)."""
    info = emulator(target, "robots")
    template = config.ingestion.egress_redirect_url
    if template is None and info is not None:
        template = f"{info['url']}/redirect?to={{url}}"
    if template is None:
        return None
    own = info is not None and template.startswith(str(info["url"]))
    if info is not None and own and config.ingestion.outbound_source != "platform":
        return template, SiteLog(info, config.http_timeout_s)
    return template, PlatformRecord(
        _platform(admin_client, template), host_port=host_port(template)
    )
