"""An httpx transport that waits out the target's per-key rate limit instead of failing on it.

Many checks share one API key. A functional check that happens to run right after a load or
rate-limit check would otherwise fail with the key's 429, which says nothing about the box it
verifies. Only the key's own budget is waited out (429 with ``RateLimit-Remaining: 0``, the
headers the platform sends with a key's limit); a 429 for another reason (a full queue) passes
through untouched, and checks about limits use the raw clients.
"""

from __future__ import annotations

import time

import httpx


class PoliteTransport(httpx.BaseTransport):
    """Resend after the server's Retry-After while the total wait stays within a bound."""

    def __init__(self, inner: httpx.BaseTransport, max_wait_s: float) -> None:
        self.inner = inner
        self.max_wait_s = max_wait_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.max_wait_s
        while True:
            response = self.inner.handle_request(request)
            if response.status_code != 429 or response.headers.get("ratelimit-remaining") != "0":
                return response
            wait = _retry_after(response)
            if wait is None or time.monotonic() + wait > deadline:
                return response
            response.close()
            # Honouring the server's Retry-After is the point here: this is the backoff the
            # service asked for, not a wait for some state to appear (those are polls).
            time.sleep(wait)

    def close(self) -> None:
        self.inner.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None
