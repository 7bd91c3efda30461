"""Shedding as the target's own behaviour: answers shaped by its policy, and its own counters.

The load and DoS checks must not take the client's troubles for shedding. A 429/503 counts as
shed only with the API's error type and a ``Retry-After`` (a proxy's or a server's bare 503 has
neither; a client timeout is no answer at all), and where the target exposes its in-flight limit
on /metrics, its shed counter must have grown by at least the overload 503s the client saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from acceptance.loadgen import SHED, LoadResult
from acceptance.promtext import Sample as PromSample
from acceptance.promtext import parse, total

SHED_TYPES = frozenset({"overloaded_error", "rate_limit_error"})
LIMIT_GAUGE = "platform_http_in_flight_limit"
SHED_COUNTER = "platform_http_requests_shed_total"


@dataclass(frozen=True)
class Counters:
    """The target's in-flight limit (None: not exposed) and requests it shed so far."""

    limit: float | None
    shed: float


def read_counters(client: httpx.Client) -> Counters:
    """From /metrics; a target without it (or without the gauge) exposes no limit."""
    response = client.get("/metrics")
    if response.status_code != 200:
        return Counters(None, 0.0)
    samples = parse(response.text)
    return Counters(total(samples, LIMIT_GAUGE), total(samples, SHED_COUNTER) or 0.0)


def overloaded(result: LoadResult) -> int:
    """503 answers of the in-flight limit (``overloaded_error``)."""
    return sum(s.status == 503 and s.error_type == "overloaded_error" for s in result.samples)


def unshaped(result: LoadResult) -> list[str]:
    """Kinds of 429/503 answers without Retry-After or without the API's error type."""
    bad = {
        f"{s.status} {s.error_type or 'none'}{'' if s.retry_after else ' (no Retry-After)'}"
        for s in result.samples
        if s.status in SHED and (s.error_type not in SHED_TYPES or not s.retry_after)
    }
    return sorted(bad)


def figures(result: LoadResult, before: Counters, after: Counters) -> dict[str, Any]:
    """Evidence: shed answers by status and type, the target's limit and its counter's growth."""
    return {
        "shed_by": result.shed_by(),
        "target_in_flight_limit": before.limit,
        "target_shed_counted": None if before.limit is None else after.shed - before.shed,
    }


def assert_shed_by_target(result: LoadResult, before: Counters, after: Counters) -> None:
    """Every 429/503 the client saw is the target's policy answer, and the target counted it."""
    bad = unshaped(result)
    assert not bad, f"429/503 answers not shaped by the target's policy: {bad}"
    if before.limit is not None:
        seen, counted = overloaded(result), after.shed - before.shed
        assert counted >= seen, f"{seen} overload 503s seen, the target counted {counted}"


def shed_requests(samples: list[PromSample], *, excluded: tuple[str, ...] = ()) -> float:
    """Requests the target shed (its 503 ``overloaded_error``), routes under ``excluded`` left
    out. A shed is the service's refusal policy, like a 429 (the loads' rule: shedding's 503 is
    no error the service owes), and the suite sheds on purpose in ``load.recovery`` and
    ``opsec.dos``: the 5xx ratios of the post-deployment checks leave these out."""
    return sum(
        s.value
        for s in samples
        if s.name == SHED_COUNTER and not s.labels.get("route", "").startswith(excluded)
    )
