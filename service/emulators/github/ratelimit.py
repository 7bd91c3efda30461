"""GitHub's primary rate limit: a budget per caller and hour, reported on every answer.

GitHub counts unauthenticated requests per IP address (60 an hour) and authenticated ones per
user (5,000), and sends ``x-ratelimit-*`` headers with every answer; when the budget is spent it
answers 403 with ``x-ratelimit-remaining: 0`` until ``x-ratelimit-reset`` (UTC epoch seconds).
A fixed window per caller is how those headers behave, so that is what this keeps.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

WINDOW_S = 3600


@dataclass
class _Window:
    start: float
    used: int = 0


@dataclass(frozen=True)
class Budget:
    """One caller's window after counting a request; ``exceeded`` means refuse it."""

    limit: int
    used: int
    reset: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-used": str(min(self.used, self.limit)),
            "x-ratelimit-resource": "core",
        }


class RateLimiter:
    """Fixed hourly windows keyed by caller (``ip:...`` or ``token:...``)."""

    def __init__(self, anonymous: int, authenticated: int) -> None:
        self.anonymous = anonymous
        self.authenticated = authenticated
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def count(self, caller: str, *, authenticated: bool) -> Budget:
        limit = self.authenticated if authenticated else self.anonymous
        now = time.time()
        with self._lock:
            window = self._windows.get(caller)
            if window is None or now >= window.start + WINDOW_S:
                window = self._windows[caller] = _Window(now)
            window.used += 1
            return Budget(limit, window.used, math.ceil(window.start + WINDOW_S))

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
