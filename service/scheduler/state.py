"""The Python face of the scheduler's scripts, and reading every schedule's record at once.

A ``Run`` is what a claim (or a poller's ``begin``) hands out: the run id (the schedule and the
due slot it was claimed for), when it started, and the fencing token its ``finish`` must show.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

from service.jobs.queue import Lua, text
from service.keyspace import keys as c
from service.scheduler import lua

Outcome = Literal["succeeded", "failed", "backed_off"]

CLAIM = Lua(lua.CLAIM)
BEGIN = Lua(lua.BEGIN)
FINISH = Lua(lua.FINISH)


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    run_id: str
    token: str
    started_at: float
    next_due_at: float | None


def _run(name: str, token: str, reply: list[Any]) -> Run:
    due = text(reply[3])
    return Run(name, text(reply[1]), token, float(text(reply[2])), float(due) if due else None)


async def claim(
    redis: Redis, name: str, period_s: float, holder: str, lease_s: float
) -> Run | None:
    """Take the schedule's due slot and its lease; None when not due or a run holds it."""
    token = secrets.token_hex(12)
    reply = await CLAIM(
        redis,
        [c.schedule_key(name), c.schedule_lease_key(name)],
        [name, repr(period_s), token, int(lease_s * 1000), holder],
    )
    return _run(name, token, reply) if text(reply[0]) == "run" else None


async def begin(redis: Redis, name: str, period_s: float, holder: str) -> Run:
    """Record the start of a run its own process scheduled (the poller's round)."""
    token = secrets.token_hex(12)
    reply = await BEGIN(redis, [c.schedule_key(name)], [name, repr(period_s), token, holder])
    return _run(name, token, reply)


async def finish(
    redis: Redis,
    run: Run,
    outcome: Outcome,
    *,
    error: str = "",
    result: dict[str, Any] | None = None,
    retry_s: float | None = None,
    next_due_in_s: float | None = None,
) -> bool:
    """Record how the run ended and free its lease; False when a newer run had taken over."""
    summary = json.dumps(result, separators=(",", ":"), default=str) if result else ""
    reply = await FINISH(
        redis,
        [c.schedule_key(run.name), c.schedule_lease_key(run.name)],
        [
            run.token,
            outcome,
            error[: c.ERROR_MAX_CHARS],
            summary[: c.SCHEDULE_RESULT_MAX_CHARS],
            "" if retry_s is None else repr(retry_s),
            "" if next_due_in_s is None else repr(next_due_in_s),
        ],
    )
    return bool(int(reply))


async def declare(redis: Redis, names: Iterable[str]) -> None:
    """Mark each schedule as expected from now on (kept when already marked)."""
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:  # EVAL, not EVALSHA: a pipeline cannot reload a forgotten script
            pipe.eval(lua.DECLARE, 1, c.schedule_key(name))
        await pipe.execute()


async def read_all(redis: Redis, names: Iterable[str]) -> tuple[float, dict[str, dict[str, str]]]:
    """Redis's clock and every schedule's record, in one round trip (a pipeline)."""
    names = list(names)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.time()
        for name in names:
            pipe.hgetall(c.schedule_key(name))
        return parse_records(names, await pipe.execute())


def parse_records(names: list[str], replies: list[Any]) -> tuple[float, dict[str, dict[str, str]]]:
    """The replies of ``TIME`` + one ``HGETALL`` per name (also the sync metrics collector's)."""
    seconds, micros = replies[0]
    records = {
        name: {text(k): text(v) for k, v in raw.items()}
        for name, raw in zip(names, replies[1:], strict=True)
    }
    return int(seconds) + int(micros) / 1e6, records
