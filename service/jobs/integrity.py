"""Integrity of the job system: no orphaned job records, no stream entry without its record, no
in-flight entry whose owner died and that nothing recovered (``GET /admin/jobs/integrity``).

What references a record, per status (every script of ``service.jobs.lua`` keeps this true):

- ``queued``: its ``entry`` is in its queue's stream, so a worker will read it;
- ``running``: its ``entry`` is in the stream and pending in the consumer group, so recovery can
  claim it if the worker dies;
- ``failed``: it is in the retry ZSET, so ``MOVE_DUE`` will queue it again;
- ``succeeded`` and ``dead`` are terminal: kept for ``job_retention_s`` and referenced by nothing.

An orphan (a non-terminal record nothing references: an operator's XTRIM or XDEL, a lost write)
never runs again, sits there until its 30-day safety TTL and holds a place in its queue's length
limit. A stream entry whose record is gone says records were deleted behind the queue's back.

In flight without owner: a pending entry whose consumer has no live heartbeat and that has been
idle longer than the recovery deadline (heartbeat TTL + ``job_visibility_timeout_s``). By then
``service.jobs.recovery`` on any live worker has claimed it, so either no worker is alive or
recovery is broken; its job is stuck either way.

The scan is not atomic (SCAN while workers change records), so every non-terminal record and
every suspect entry is judged by one Lua script that sees the record and its references in the
same instant: a job that merely moved between two states during the scan is not reported.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from service.jobs import heartbeat
from service.jobs.queue import text
from service.keyspace import keys as c
from service.settings import Settings

MAX_REPORTED = 20
SCAN_BATCH = 1000
TERMINAL = frozenset({"succeeded", "dead"})

# KEYS: job.  ARGV: stream prefix, retry key, group.  '' when the record is referenced (or gone
# meanwhile), else what is missing. Keys from ARGV: a single Redis, as in service.jobs.lua.
_JUDGE_RECORD = r"""
local f = redis.call('HMGET', KEYS[1], 'status', 'queue', 'entry', 'job_id')
local status, entry = f[1], f[3]
if not status then return '' end
local stream = ARGV[1] .. (f[2] or '')
local listed = entry and entry ~= '' and #redis.call('XRANGE', stream, entry, entry) > 0
if status == 'queued' then
  if listed then return '' end
  return 'queued, but its stream entry is gone'
elseif status == 'running' then
  if not listed then return 'running, but its stream entry is gone' end
  local ok, p = pcall(redis.call, 'XPENDING', stream, ARGV[3], entry, entry, 1)
  if ok and #p > 0 then return '' end
  return 'running, but no worker holds its stream entry'
elseif status == 'failed' then
  if redis.call('ZSCORE', ARGV[2], f[4]) then return '' end
  return 'failed, but no retry is scheduled'
end
return ''
"""
# KEYS: stream.  ARGV: entry id, job prefix.  The entry's job id when its record is missing.
_JUDGE_ENTRY = r"""
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return '' end
local fields = e[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'job_id' then
    if redis.call('EXISTS', ARGV[2] .. fields[i + 1]) == 1 then return '' end
    return fields[i + 1]
  end
end
return '?'
"""


@dataclass(slots=True)
class JobIntegrityReport:
    ok: bool
    job_records: int
    unfinished: int
    recovery_deadline_s: float
    checks: dict[str, str] = field(default_factory=dict)
    orphaned_records: list[dict[str, str]] = field(default_factory=list)
    entries_without_record: list[dict[str, str]] = field(default_factory=list)
    ownerless_in_flight: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def recovery_deadline_s(settings: Settings) -> float:
    """Idle time after which a dead worker's entry must have been claimed by a live one."""
    return heartbeat.heartbeat_ttl_ms(settings) / 1000 + settings.job_visibility_timeout_s


async def _orphans(redis: Redis) -> tuple[int, int, list[dict[str, str]]]:
    judge = redis.register_script(_JUDGE_RECORD)
    records = unfinished = 0
    orphans: list[dict[str, str]] = []
    async for batch in _key_batches(redis, c.JOB_PREFIX + "*"):
        async with redis.pipeline(transaction=False) as pipe:
            for key in batch:
                pipe.hmget(key, ["status", "queue"])
            fields = await pipe.execute()
        for key, (status, queue_name) in zip(batch, fields, strict=True):
            if status is None:
                continue  # expired between SCAN and HMGET
            records += 1
            if text(status) in TERMINAL:
                continue
            unfinished += 1
            problem = text(
                await judge(keys=[key], args=[c.STREAM_PREFIX, c.RETRY_KEY, c.CONSUMER_GROUP])
            )
            if problem:
                orphans.append(
                    {
                        "job_id": key.removeprefix(c.JOB_PREFIX),
                        "queue": text(queue_name or ""),
                        "problem": problem,
                    }
                )
    return records, unfinished, orphans


async def _key_batches(redis: Redis, pattern: str) -> AsyncIterator[list[str]]:
    batch: list[str] = []
    async for key in redis.scan_iter(match=pattern, count=SCAN_BATCH):
        batch.append(text(key))
        if len(batch) >= SCAN_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _entries_without_record(redis: Redis) -> list[dict[str, str]]:
    judge = redis.register_script(_JUDGE_ENTRY)
    found: list[dict[str, str]] = []
    for queue_name in c.QUEUES:
        stream = c.stream_key(queue_name)
        last = "-"
        while True:  # streams stay short (entries are deleted when their attempt ends)
            entries = await redis.xrange(stream, min=last, max="+", count=SCAN_BATCH) or []
            for entry_id, _ in entries:
                job_id = text(await judge(keys=[stream], args=[text(entry_id), c.JOB_PREFIX]))
                if job_id:
                    found.append({"queue": queue_name, "entry": text(entry_id), "job_id": job_id})
            if len(entries) < SCAN_BATCH:
                break
            last = "(" + text(entries[-1][0])
    return found


async def _ownerless(redis: Redis, settings: Settings) -> list[dict[str, Any]]:
    alive = {w.consumer for w in await heartbeat.list_workers(redis, settings)}
    idle_ms = int(recovery_deadline_s(settings) * 1000)
    found: list[dict[str, Any]] = []
    for queue_name in c.QUEUES:
        try:
            pending = await redis.xpending_range(
                c.stream_key(queue_name),
                c.CONSUMER_GROUP,
                min="-",
                max="+",
                count=SCAN_BATCH,
                idle=idle_ms,
            )
        except ResponseError:  # no stream or group yet (nothing was ever enqueued): no entries
            continue
        for item in pending:
            consumer = text(item["consumer"])
            if consumer not in alive:
                found.append(
                    {
                        "queue": queue_name,
                        "entry": text(item["message_id"]),
                        "consumer": consumer,
                        "idle_s": round(int(item["time_since_delivered"]) / 1000, 1),
                    }
                )
    return found


def _verdict(found: list[Any], what: str) -> str:
    return "ok" if not found else f"{len(found)} {what}"


async def job_integrity(redis: Redis, settings: Settings) -> JobIntegrityReport:
    """The three checks of the module docstring, with up to `MAX_REPORTED` examples each."""
    records, unfinished, orphans = await _orphans(redis)
    dangling = await _entries_without_record(redis)
    ownerless = await _ownerless(redis, settings)
    deadline = recovery_deadline_s(settings)
    checks = {
        "records": _verdict(orphans, "orphaned job record(s)"),
        "entries": _verdict(dangling, "stream entries without a job record"),
        "in_flight": _verdict(ownerless, f"in-flight entries of dead workers after {deadline:g} s"),
    }
    return JobIntegrityReport(
        ok=all(v == "ok" for v in checks.values()),
        job_records=records,
        unfinished=unfinished,
        recovery_deadline_s=deadline,
        checks=checks,
        orphaned_records=orphans[:MAX_REPORTED],
        entries_without_record=dangling[:MAX_REPORTED],
        ownerless_in_flight=ownerless[:MAX_REPORTED],
    )
