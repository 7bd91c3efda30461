"""Operator control of the queues: pause, resume, and the state an operator acts on.

A pause stops workers from *starting* jobs of a queue; clients can still enqueue, and running
jobs finish. Operators pause to drain a queue for maintenance; the acceptance suite pauses to
build a backlog deterministically (a backlog that races the workers makes a check flaky). The
flag is a key with an expiry (``Settings.queue_pause_max_s``): a pause that nobody lifts ends on
its own. Pause and resume of several queues are one script each, so queues resumed together
become visible to workers at the same instant; both append to the control stream, which wakes
workers blocked waiting for work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from redis.asyncio import Redis

from service.jobs.queue import Lua
from service.keyspace import keys as c
from service.settings import Settings

# KEYS: control, then one pause flag per queue.  ARGV: ttl_s ('0': resume), control maxlen.
_SET_PAUSED: Final = Lua(r"""
for i = 2, #KEYS do
  if ARGV[1] == '0' then
    redis.call('DEL', KEYS[i])
  else
    redis.call('SET', KEYS[i], '1', 'EX', ARGV[1])
  end
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event',
  ARGV[1] == '0' and 'resume' or 'pause')
return #KEYS - 1
""")

# KEYS: (stream, active, paused) per queue.  ARGV: group.  One consistent snapshot: depth
# (entries not yet delivered to a worker), size (accepted, not terminal: what the length limit
# counts) and the pause flag's remaining life in ms (-2: not paused).
_STATE: Final = Lua(r"""
local out = {}
for i = 1, #KEYS, 3 do
  local depth = 0
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local pending = 0
    local ok, p = pcall(redis.call, 'XPENDING', KEYS[i], ARGV[1])
    if ok and p then pending = tonumber(p[1]) end
    depth = math.max(0, redis.call('XLEN', KEYS[i]) - pending)
  end
  table.insert(out, depth)
  table.insert(out, tonumber(redis.call('GET', KEYS[i + 1]) or '0'))
  table.insert(out, redis.call('PTTL', KEYS[i + 2]))
end
return out
""")


async def set_paused(redis: Redis, settings: Settings, queues: Iterable[str], paused: bool) -> None:
    """Pause (for at most ``queue_pause_max_s``) or resume the named queues, all at once."""
    names = list(dict.fromkeys(queues))
    ttl = settings.queue_pause_max_s if paused else 0
    await _SET_PAUSED(
        redis, [c.CONTROL_KEY, *(c.paused_key(q) for q in names)], [ttl, c.CONTROL_MAXLEN]
    )


async def queue_state(redis: Redis, settings: Settings) -> dict[str, dict[str, Any]]:
    """Per queue: ``depth``, ``size``, ``limit`` (0 = unlimited), ``paused``, and
    ``pause_expires_in_s`` (None when not paused).

    ``depth`` counts jobs waiting to start; ``size`` adds those running or waiting for a retry.
    While a queue is paused and none of its jobs runs or waits for a retry, depth == size.
    """
    keys = [k for q in c.QUEUES for k in (c.stream_key(q), c.active_key(q), c.paused_key(q))]
    reply = await _STATE(redis, keys, [c.CONSUMER_GROUP])
    limits = {str(name): value for name, value in settings.queue_max_length.items()}
    state: dict[str, dict[str, Any]] = {}
    for n, queue in enumerate(c.QUEUES):
        depth, size, pttl = (int(v) for v in reply[3 * n : 3 * n + 3])
        paused = pttl != -2  # -1 (no expiry) cannot be written here, but would still pause
        state[queue] = {
            "depth": depth,
            "size": max(0, size),
            "limit": limits.get(queue, 0),
            "paused": paused,
            "pause_expires_in_s": round(pttl / 1000, 3) if pttl >= 0 else None,
        }
    return state
