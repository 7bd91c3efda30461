"""The Lua scripts of the scheduler: claiming a due slot, beginning and finishing a run.

Why scripts: "is it due, is nobody running it, then take it and move the due time on" must be one
step, or two workers that tick together both run the slot. Times come from Redis ``TIME`` so every
process judges "due" by one clock. Fencing: a run holds a random token (the lease's value, kept in
the hash too); ``FINISH`` refuses a token that is no longer current, so a run given up as lost
can never overwrite the record of the run that replaced it. Nil fields read as ``false`` in Lua,
hence the ``or '0'``.
"""

from __future__ import annotations

from typing import Final

from service.keyspace.lua import TIME_PRELUDE

# KEYS: state hash, lease.  ARGV: name, period_s, token, lease_ms, holder.
# -> {'run', run_id, started_at, next_due_at} | {'wait', next_due_at} | {'busy'}
CLAIM: Final = (
    TIME_PRELUDE
    + r"""
local t = now()
if redis.call('EXISTS', KEYS[2]) == 1 then return {'busy'} end
local period = tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'next_due_at', 'started_at', 'state')
local due = tonumber(h[1] or '0')
local started = tonumber(h[2] or '0')
-- The period was shortened since the last run: the new one applies from that run on.
if started > 0 and due > started + period then due = started + period end
if due > t then return {'wait', fmt(due)} end
if h[3] == 'running' then
  -- No lease but no recorded end: the process running it died (its lease expired).
  redis.call('HSET', KEYS[1], 'outcome', 'lost', 'finished_at', fmt(t), 'duration_s', '',
             'error', 'run lost: its process stopped before recording an outcome')
  redis.call('HINCRBY', KEYS[1], 'failures', 1)
end
-- Fixed rate while on time; after an outage one run, not one per missed period.
local nxt = due + period
if nxt <= t then nxt = t + period end
local run_id = ARGV[1] .. '@' .. fmt(due > 0 and due or t)
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('HSET', KEYS[1], 'state', 'running', 'run_id', run_id, 'token', ARGV[3],
           'holder', ARGV[5], 'started_at', fmt(t), 'next_due_at', fmt(nxt),
           'period_s', ARGV[2])
redis.call('HSETNX', KEYS[1], 'declared_at', fmt(t))
redis.call('HINCRBY', KEYS[1], 'runs', 1)
return {'run', run_id, fmt(t), fmt(nxt)}
"""
)

# KEYS: state hash.  ARGV: name, period_s, token, holder.  A run that another process schedules
# by itself (the poller's rounds): recorded, not claimed.  -> {'run', run_id, started_at, ''}
BEGIN: Final = (
    TIME_PRELUDE
    + r"""
local t = now()
local run_id = ARGV[1] .. '@' .. fmt(t)
redis.call('HSET', KEYS[1], 'state', 'running', 'run_id', run_id, 'token', ARGV[3],
           'holder', ARGV[4], 'started_at', fmt(t), 'period_s', ARGV[2])
redis.call('HSETNX', KEYS[1], 'declared_at', fmt(t))
redis.call('HINCRBY', KEYS[1], 'runs', 1)
return {'run', run_id, fmt(t), ''}
"""
)

# KEYS: state hash, lease.  ARGV: token, outcome, error, result, retry_s ('' = none),
# next_due_in_s ('' = keep the claimed due time).  -> 1 recorded | 0 fenced (a newer run holds it)
FINISH: Final = (
    TIME_PRELUDE
    + r"""
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
local t = now()
local started = tonumber(redis.call('HGET', KEYS[1], 'started_at') or '0')
redis.call('HSET', KEYS[1], 'state', 'idle', 'finished_at', fmt(t), 'outcome', ARGV[2],
           'error', ARGV[3], 'result', ARGV[4], 'duration_s', fmt(t - started))
if ARGV[2] == 'succeeded' then
  redis.call('HSET', KEYS[1], 'last_success_at', fmt(t))
elseif ARGV[2] == 'failed' then
  redis.call('HINCRBY', KEYS[1], 'failures', 1)
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'next_due_at', fmt(t + tonumber(ARGV[6])))
elseif ARGV[2] == 'failed' and ARGV[5] ~= '' then
  local retry = t + tonumber(ARGV[5])
  if retry < tonumber(redis.call('HGET', KEYS[1], 'next_due_at') or '0') then
    redis.call('HSET', KEYS[1], 'next_due_at', fmt(retry))
  end
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
)

# KEYS: state hash.  A process that runs or reports the schedule marks since when it is expected
# (kept if present), so a schedule that never ran shows as overdue once it should have.
DECLARE: Final = (
    TIME_PRELUDE
    + r"""
redis.call('HSETNX', KEYS[1], 'declared_at', fmt(now()))
return 1
"""
)
