"""The Lua scripts of the job queue: every state change of a job is one of these, atomically.

Why Lua: a job's record, its stream entry, the per-queue counter, the retry/dead sets and the
metrics counters must change together, or a crash between two commands leaves a job counted but
not queued, or run but not acknowledged. A script runs to completion on the server, so a SIGKILL
of the caller can only happen before or after it. Times come from Redis ``TIME`` so every
process agrees on one clock.

Some scripts build key names from record fields (the stream of the job's queue): this instance is
a single Redis, not a cluster, so undeclared keys are fine; the prefixes arrive as ARGV so the
layout stays in ``service.keyspace.keys``.

Fencing: a running job holds a random ``token`` (one per attempt). ``FINISH`` and ``RELEASE``
refuse to act unless the caller's token is the current one, so an attempt that was reclaimed from
a slow or dead worker can never record a second outcome.
"""

from __future__ import annotations

from typing import Final

from service.keyspace.lua import TIME_PRELUDE

# Shared helpers, prepended to every script.
_PRELUDE: Final = (
    TIME_PRELUDE
    + r"""
local function observe(stats, name, labels, v, buckets)
  for b in string.gmatch(buckets, '[^,]+') do
    if v <= tonumber(b) then
      redis.call('HINCRBY', stats, name .. '_b|' .. labels .. '|' .. b, 1)
    end
  end
  redis.call('HINCRBY', stats, name .. '_b|' .. labels .. '|+Inf', 1)
  redis.call('HINCRBYFLOAT', stats, name .. '_sum|' .. labels, fmt(v))
  redis.call('HINCRBY', stats, name .. '_count|' .. labels, 1)
end
local function push_history(jk, item, maxlen)
  local h = cjson.decode(redis.call('HGET', jk, 'history') or '[]')
  table.insert(h, item)
  while #h > maxlen do table.remove(h, 1) end
  redis.call('HSET', jk, 'history', cjson.encode(h))
end
local function drop_entry(stream, group, entry)
  if entry and entry ~= '' then
    redis.call('XACK', stream, group, entry)
    redis.call('XDEL', stream, entry)
  end
end
"""
)

# KEYS: active, stream, job, idem.  ARGV: job_id, kind, queue, payload, max_attempts, limit,
# timeout_s, owner, safety_ttl, idem_ttl, use_idem, job_prefix, request_id ('' if none; the
# worker logs it, so one request can be traced into its job).  limit 0 = unlimited.
ENQUEUE: Final = (
    _PRELUDE
    + r"""
if ARGV[11] == '1' then
  local existing = redis.call('GET', KEYS[4])
  if existing and redis.call('EXISTS', ARGV[12] .. existing) == 1 then
    return {'existing', existing}
  end
end
local active = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[6])
if limit > 0 and active >= limit then return {'full', tostring(active)} end
redis.call('INCR', KEYS[1])
local t = fmt(now())
local entry = redis.call('XADD', KEYS[2], '*', 'job_id', ARGV[1])
redis.call('HSET', KEYS[3], 'job_id', ARGV[1], 'kind', ARGV[2], 'queue', ARGV[3],
  'payload', ARGV[4], 'status', 'queued', 'attempts', '0', 'max_attempts', ARGV[5],
  'created_at', t, 'queued_at', t, 'entry', entry, 'history', '[]', 'timeout_s', ARGV[7],
  'owner', ARGV[8], 'request_id', ARGV[13] or '')
redis.call('EXPIRE', KEYS[3], ARGV[9])
if ARGV[11] == '1' then redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[10]) end
return {'created', ARGV[1]}
"""
)

# KEYS: job, stream, dead, active, stats.  ARGV: entry, worker_id, token, group, retention_s,
# history_max, buckets, dead_letter ('0': discard dead jobs; else keep them in the dead set).
# Starts an attempt; a job found 'running' lost its previous worker.
START: Final = (
    _PRELUDE
    + r"""
if redis.call('EXISTS', KEYS[1]) == 0 then
  drop_entry(KEYS[2], ARGV[4], ARGV[1]); return {'gone'}
end
local f = redis.call('HMGET', KEYS[1], 'entry', 'status', 'attempts', 'max_attempts',
  'started_at', 'worker_id', 'queued_at', 'kind', 'queue', 'job_id')
local status, attempts, maxa = f[2], tonumber(f[3]), tonumber(f[4])
local kind, queue, job_id = f[8], f[9], f[10]
if f[1] ~= ARGV[1] then drop_entry(KEYS[2], ARGV[4], ARGV[1]); return {'stale'} end
local t = now()
if status == 'running' then
  local err = 'lost: worker ' .. (f[6] or '?') .. ' stopped before finishing the attempt'
  push_history(KEYS[1], {attempt = attempts, started_at = tonumber(f[5]), finished_at = t,
    error = err, worker_id = f[6]}, tonumber(ARGV[6]))
  redis.call('HINCRBY', KEYS[5], 'jobs|' .. kind .. '|' .. queue .. '|lost', 1)
  if attempts >= maxa then
    redis.call('HSET', KEYS[1], 'status', 'dead', 'error', err, 'finished_at', fmt(t),
      'token', '', 'entry', '')
    if ARGV[8] ~= '0' then redis.call('ZADD', KEYS[3], fmt(t), job_id) end
    redis.call('DECR', KEYS[4])
    redis.call('EXPIRE', KEYS[1], ARGV[5])
    redis.call('HINCRBY', KEYS[5], 'jobs|' .. kind .. '|' .. queue .. '|dead', 1)
    drop_entry(KEYS[2], ARGV[4], ARGV[1])
    return {'dead'}
  end
elseif status == 'queued' then
  observe(KEYS[5], 'wait', queue, math.max(0, t - tonumber(f[7])), ARGV[7])
else
  drop_entry(KEYS[2], ARGV[4], ARGV[1]); return {'stale'}
end
attempts = attempts + 1
redis.call('HSET', KEYS[1], 'status', 'running', 'attempts', tostring(attempts),
  'started_at', fmt(t), 'worker_id', ARGV[2], 'token', ARGV[3], 'finished_at', '',
  'next_attempt_at', '')
local r = redis.call('HMGET', KEYS[1], 'payload', 'timeout_s', 'request_id')
return {'run', kind, r[1], tostring(attempts), tostring(maxa), r[2], queue, r[3] or ''}
"""
)

# KEYS: job, stream, retry, dead, active, stats.  ARGV: token, group, outcome ('ok'|'fail'),
# result json or error text, retention_s, history_max, retry_base_s, retry_max_s,
# jitter factor, buckets, final ('1': no retry however many attempts are left),
# dead_letter ('0': discard dead jobs; else keep them in the dead set)
FINISH: Final = (
    _PRELUDE
    + r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return {'fenced'} end
local f = redis.call('HMGET', KEYS[1], 'status', 'token', 'attempts', 'max_attempts',
  'started_at', 'entry', 'worker_id', 'kind', 'queue', 'job_id')
if f[1] ~= 'running' or f[2] ~= ARGV[1] then return {'fenced'} end
local attempts, maxa, started = tonumber(f[3]), tonumber(f[4]), tonumber(f[5])
local kind, queue, job_id = f[8], f[9], f[10]
local labels = kind .. '|' .. queue
local t = now()
observe(KEYS[6], 'dur', labels, math.max(0, t - started), ARGV[10])
drop_entry(KEYS[2], ARGV[2], f[6])
local item = {attempt = attempts, started_at = started, finished_at = t, worker_id = f[7]}
if ARGV[3] == 'ok' then
  push_history(KEYS[1], item, tonumber(ARGV[6]))
  redis.call('HSET', KEYS[1], 'status', 'succeeded', 'finished_at', fmt(t), 'result', ARGV[4],
    'error', '', 'token', '', 'entry', '')
  redis.call('DECR', KEYS[5])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('HINCRBY', KEYS[6], 'jobs|' .. labels .. '|succeeded', 1)
  return {'succeeded'}
end
item.error = ARGV[4]
push_history(KEYS[1], item, tonumber(ARGV[6]))
if attempts >= maxa or ARGV[11] == '1' then
  redis.call('HSET', KEYS[1], 'status', 'dead', 'finished_at', fmt(t), 'error', ARGV[4],
    'token', '', 'entry', '', 'next_attempt_at', '')
  if ARGV[12] ~= '0' then redis.call('ZADD', KEYS[4], fmt(t), job_id) end
  redis.call('DECR', KEYS[5])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('HINCRBY', KEYS[6], 'jobs|' .. labels .. '|dead', 1)
  return {'dead'}
end
local delay = math.min(tonumber(ARGV[8]), tonumber(ARGV[7]) * 2 ^ (attempts - 1))
delay = delay * tonumber(ARGV[9])
local due = t + delay
redis.call('HSET', KEYS[1], 'status', 'failed', 'finished_at', fmt(t), 'error', ARGV[4],
  'token', '', 'entry', '', 'next_attempt_at', fmt(due))
redis.call('ZADD', KEYS[3], fmt(due), job_id)
redis.call('HINCRBY', KEYS[6], 'jobs|' .. labels .. '|failed', 1)
return {'failed', fmt(due)}
"""
)

# KEYS: job, stream.  ARGV: token, group, history_max, reason.  Gives an attempt back unrun
# (SIGTERM past the grace period): the attempt is not charged and the job is queued again.
RELEASE: Final = (
    _PRELUDE
    + r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return {'fenced'} end
local f = redis.call('HMGET', KEYS[1], 'status', 'token', 'attempts', 'started_at', 'entry',
  'worker_id', 'job_id')
if f[1] ~= 'running' or f[2] ~= ARGV[1] then return {'fenced'} end
local t = now()
push_history(KEYS[1], {attempt = tonumber(f[3]), started_at = tonumber(f[4]), finished_at = t,
  error = ARGV[4], worker_id = f[6]}, tonumber(ARGV[3]))
drop_entry(KEYS[2], ARGV[2], f[5])
local entry = redis.call('XADD', KEYS[2], '*', 'job_id', f[7])
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', tostring(tonumber(f[3]) - 1),
  'token', '', 'entry', entry, 'queued_at', fmt(t))
return {'released'}
"""
)

# KEYS: retry.  ARGV: batch, job_prefix, stream_prefix.  Moves due retries back to their
# stream; ZREM decides which caller moves a member, so each retry is queued exactly once.
# Returns how many due members it handled (moved or dropped as stale), for batching.
MOVE_DUE: Final = (
    _PRELUDE
    + r"""
local t = now()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', fmt(t), 'LIMIT', 0, tonumber(ARGV[1]))
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local jk = ARGV[2] .. id
  local f = redis.call('HMGET', jk, 'status', 'queue')
  if f[1] == 'failed' then
    local entry = redis.call('XADD', ARGV[3] .. f[2], '*', 'job_id', id)
    redis.call('HSET', jk, 'status', 'queued', 'entry', entry, 'queued_at', fmt(t))
    moved = moved + 1
  end
end
return #due
"""
)

# KEYS: job, dead, active.  ARGV: limit (0 = unlimited), safety_ttl, stream_prefix.  Admin
# requeue of a dead job (also one whose dead letter was discarded: dead_letter_enabled false).
REQUEUE: Final = (
    _PRELUDE
    + r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local f = redis.call('HMGET', KEYS[1], 'status', 'queue', 'job_id')
if f[1] ~= 'dead' then return {'not_dead', f[1]} end
local active = tonumber(redis.call('GET', KEYS[3]) or '0')
local limit = tonumber(ARGV[1])
if limit > 0 and active >= limit then return {'full', tostring(active)} end
redis.call('ZREM', KEYS[2], f[3])
redis.call('INCR', KEYS[3])
local t = fmt(now())
local entry = redis.call('XADD', ARGV[3] .. f[2], '*', 'job_id', f[3])
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', '0', 'entry', entry, 'queued_at', t,
  'error', '', 'finished_at', '', 'next_attempt_at', '', 'started_at', '', 'token', '',
  'worker_id', '', 'result', '')
redis.call('PERSIST', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {'queued'}
"""
)

# KEYS: control, then (stream, paused) per queue in the order to try.  ARGV: group, consumer.
# Takes one new entry from the first unpaused queue that has one. Checking the pause flag and
# reading in one script is what makes a pause exact: once the pause call returned, no entry of
# that queue is delivered. Nothing to take: {'none', control last id, queue index, stream last
# id, ...} for the unpaused queues, the ids a blocking XREAD waits after (no wake-up is lost
# between this script and that wait).
READ: Final = r"""
local function last_id(key)
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return info[i + 1] end
  end
  return '0-0'
end
local waits = {'none', '0-0'}
if redis.call('EXISTS', KEYS[1]) == 1 then waits[2] = last_id(KEYS[1]) end
for i = 2, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1,
      'STREAMS', KEYS[i], '>')
    if r then
      local e = r[1][2][1]
      local job_id = ''
      local fields = e[2] or {}
      for j = 1, #fields, 2 do if fields[j] == 'job_id' then job_id = fields[j + 1] end end
      return {'entry', tostring(i / 2), e[1], job_id}
    end
    table.insert(waits, tostring(i / 2))
    table.insert(waits, last_id(KEYS[i]))
  end
end
return waits
"""

# KEYS: one stream per queue, then retry, dead.  ARGV: group.  Waiting = entries not yet
# delivered to any worker (XLEN minus pending: acknowledged entries are deleted).
DEPTHS: Final = r"""
local out = {}
for i = 1, #KEYS - 2 do
  local len = redis.call('XLEN', KEYS[i])
  local pending = 0
  local ok, p = pcall(redis.call, 'XPENDING', KEYS[i], ARGV[1])
  if ok and p then pending = tonumber(p[1]) end
  table.insert(out, math.max(0, len - pending))
end
table.insert(out, redis.call('ZCARD', KEYS[#KEYS - 1]))
table.insert(out, redis.call('ZCARD', KEYS[#KEYS]))
return out
"""
