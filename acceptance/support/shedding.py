"""Shedding as the target's own behaviour: answers shaped by its policy, and its own counters.

The load and DoS checks must not take the client's troubles for shedding. A 429/503 counts as
shed only with the API's error type and a ``Retry-After`` (a proxy's or a server's bare 503 has
neither; a client timeout is no answer at all), and where the target exposes its in-flight limit
on /metrics, its shed counter must have grown by at least the overload 503s the client saw.

The limit is per API process and the counter is each process's own: both are read from every
process (``platform_metrics``), the counter summed, so N processes behind an ingress shed past N
times the limit and count what each of them shed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.api import health
from acceptance.support.loadgen import NO_JOB, SHED, Call, LoadResult
from acceptance.support.platform_metrics import (
    MetricsUnavailable,
    PlatformMetrics,
    incomparable,
    platform_metrics,
)
from acceptance.support.promtext import Sample as PromSample
from acceptance.support.promtext import total

SHED_TYPES = frozenset({"overloaded_error", "rate_limit_error"})
LIMIT_GAUGE = "platform_http_in_flight_limit"
SHED_COUNTER = "platform_http_requests_shed_total"


@dataclass(frozen=True)
class Counters:
    """The target's in-flight limit per process (None: not exposed), the limits of all its
    processes, and the requests they shed so far (summed)."""

    limit: float | None
    capacity: float | None
    shed: float
    read: PlatformMetrics | None = None


def read_counters(target: Target, config: SuiteConfig, client: httpx.Client) -> Counters:
    """From every process's /metrics; a target without it (or without the gauge) exposes no
    limit."""
    try:
        read = platform_metrics(target, config, client)
    except MetricsUnavailable:
        return Counters(None, None, 0.0)
    limits = read.per_instance(LIMIT_GAUGE)
    return Counters(
        max(limits.values()) if limits else None,
        sum(limits.values()) if limits else None,
        total(read.samples, SHED_COUNTER) or 0.0,
        read,
    )


def overload_calls(anon_client: httpx.Client, config: SuiteConfig, key: str | None) -> list[Call]:
    """A user's cycle in a spike or flood: a chat completion, then a status read.

    A completion holds its slot while the provider generates (wall time, not CPU), so ~100 of
    them at once are more than the target serves at once however slow this machine's client
    is; a burst of cheap reads alone is not, when the client is slower per request than the
    server. Not streamed: relaying chunks would spend the CPU a starved 2-core machine has least
    of, in client, gateway and provider alike (that a stream holds its slot to its last chunk
    is pinned down by the service's tests). Without a chat model (no providers in /health, no
    ``chat_model``) the status read alone.
    """
    status = Call("status", "GET", f"/status/{NO_JOB}", key=key)
    component = health(anon_client)["components"].get("providers")
    routes = component.get("routes") if isinstance(component, dict) else None
    model = config.chat_model or (str(sorted(routes)[0]) if routes else None)
    if model is None:
        return [status]
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "preflight overload"}],
        "max_tokens": config.chat_max_tokens,
    }
    return [Call("chat", "POST", "/v1/chat/completions", json=body, key=key), status]


def overloaded(result: LoadResult) -> int:
    """503 answers of the in-flight limit (code ``overloaded``; the gateway's 503 when no
    provider could serve is ``providers_unavailable`` and is not counted as a shed there)."""
    return sum(s.status == 503 and s.error_code == "overloaded" for s in result.samples)


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
    why = _incomparable(before, after)
    out: dict[str, Any] = {
        "shed_by": result.shed_by(),
        "target_in_flight_limit": before.limit,
        "target_in_flight_capacity": before.capacity,
        "target_shed_counted": None if before.limit is None or why else after.shed - before.shed,
    }
    if after.read is not None:
        out.update(after.read.evidence())
    if why:
        out["target_shed_not_compared"] = why
    return out


def _incomparable(before: Counters, after: Counters) -> str | None:
    if before.read is None or after.read is None:
        return None
    return incomparable(before.read, after.read)


def assert_shed_by_target(result: LoadResult, before: Counters, after: Counters) -> None:
    """Every 429/503 the client saw is the target's policy answer, and the target counted it."""
    bad = unshaped(result)
    assert not bad, f"429/503 answers not shaped by the target's policy: {bad}"
    # Two public-URL reads from different processes say nothing about shedding: the evidence
    # says so (``figures``) rather than ending the check, whose other findings still stand.
    if before.limit is not None and _incomparable(before, after) is None:
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
