"""One arXiv API request under every rule arXiv sets: cadence, one connection, backoff.

The request goes through the platform's one outbound client (egress allowlist, User-Agent with a
contact) inside a slot of the shared cadence (``service.ingest.throttle``). A 503 or 429 pushes
the shared slot past ``Retry-After`` (or an exponential backoff when there is none) for every
process, and the poller gives up the round. The Atom body is parsed in the sandbox.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
from redis.asyncio import Redis

from service.ingest import stats
from service.ingest.throttle import LocalThrottle, RedisThrottle, Throttle
from service.outbound.client import EgressRefused, OutboundClient, OutboundError, RateLimitedError
from service.outbound.limits import wait_from_headers
from service.security import sandbox
from service.settings import Settings

log = logging.getLogger("service.ingest.arxiv")
DESTINATION = "arxiv"


class ArxivUnavailableError(Exception):
    """arXiv asked us to back off (503/429) or could not be reached; the round ends.

    ``backed_off``: arXiv (or its rate limit) asked every process to wait, and they do: the round
    behaved as arXiv's terms require. Otherwise the round failed (unreachable, bad answer).
    """

    def __init__(self, message: str, *, backed_off: bool = False) -> None:
        super().__init__(message)
        self.backed_off = backed_off


def make_throttle(settings: Settings, redis: Redis) -> Throttle:
    if settings.arxiv_rate_state == "local":
        return LocalThrottle(settings.arxiv_min_interval_s)
    return RedisThrottle(
        redis, settings.arxiv_min_interval_s, request_timeout_s=settings.outbound_read_timeout_s
    )


class ArxivClient:
    """Fetches pages of ``arxiv_query``, newest first."""

    def __init__(
        self, settings: Settings, redis: Redis, outbound: OutboundClient, throttle: Throttle
    ) -> None:
        self.settings, self.redis, self.outbound, self.throttle = (
            settings,
            redis,
            outbound,
            throttle,
        )
        self.failures = 0

    def params(self, start: int) -> dict[str, str]:
        return {
            "search_query": self.settings.arxiv_query,
            "start": str(start),
            "max_results": str(self.settings.arxiv_page_size),
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }

    def _backoff_s(self, headers_delay: float | None) -> float:
        if headers_delay is not None:
            return min(
                max(headers_delay, self.settings.arxiv_min_interval_s),
                self.settings.arxiv_backoff_max_s,
            )
        step = self.settings.arxiv_min_interval_s * 2.0 ** min(self.failures, 10)
        return float(min(step, self.settings.arxiv_backoff_max_s))

    async def _back_off(self, why: str, delay: float | None) -> None:
        wait = await self.throttle.back_off(self._backoff_s(delay))
        self.failures += 1
        await stats.count(self.redis, "arxiv_backoffs")
        log.warning("arXiv %s: every poller waits %.1f s", why, wait)

    async def fetch(self, start: int) -> dict[str, Any]:
        """One page, parsed; ArxivUnavailableError after a backoff or a failure."""
        url = f"{str(self.settings.arxiv_url).rstrip('/')}/api/query"
        async with self.throttle.slot():
            try:
                response = await self.outbound.get(
                    url, destination=DESTINATION, params=self.params(start), retry_on_429=False
                )
            except RateLimitedError as exc:  # the outbound gate says arXiv is still resting
                await self._back_off("rate limited", exc.retry_after_s)
                raise ArxivUnavailableError(str(exc), backed_off=True) from exc
            except EgressRefused:
                raise
            except OutboundError as exc:
                await stats.count(self.redis, "arxiv_requests")
                await stats.count(self.redis, "arxiv_errors")
                raise ArxivUnavailableError(str(exc)) from exc
            await stats.count(self.redis, "arxiv_requests")
            await stats.mark(self.redis, "arxiv_last_request")
        if response.status_code in (429, 503):
            answer = httpx.Response(response.status_code, headers=response.headers)
            delay = wait_from_headers(answer, time.time())
            await self._back_off(f"answered {response.status_code}", delay)
            raise ArxivUnavailableError(f"arXiv answered {response.status_code}", backed_off=True)
        if response.status_code != 200:
            await stats.count(self.redis, "arxiv_errors")
            raise ArxivUnavailableError(f"arXiv answered {response.status_code}")
        try:
            feed = await sandbox.parse(self.settings, "atom", response.content)
        except sandbox.SandboxError as exc:
            await stats.count(self.redis, "arxiv_errors")
            raise ArxivUnavailableError(f"unparsable feed: {exc}") from exc
        self.failures = 0
        await stats.mark(self.redis, "arxiv_last_success")
        return feed
