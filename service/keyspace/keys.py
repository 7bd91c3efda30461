"""Every Redis key prefix and TTL of the platform's job system, each with why it has that value.

Kept in one module (arq's habit) so that the API, the workers, the admin tools and the tests agree
on the layout, and so that a reviewer can see every key the service writes in one screen.
Everything lives under one prefix so that an operator can find (or delete) the platform's data.
"""

from __future__ import annotations

from typing import Final

# One namespace for the whole platform: other users of the same Redis never collide with it.
KEY_PREFIX: Final = "pf:"

# Schema version of the datastore layout, set by the API at startup with SET NX: the first
# deployment writes it, later ones compare (health `schema` component) rather than overwrite.
SCHEMA_KEY: Final = KEY_PREFIX + "schema"

# Queue names, hot first: the order is the worker's preference order.
QUEUES: Final = ("hot", "backfill")

# One stream per queue, e.g. "pf:stream:hot": the entries are delivery tickets, the job itself
# lives in its hash. Entries are XACKed and XDELed when their attempt ends, so XLEN stays small.
STREAM_PREFIX: Final = KEY_PREFIX + "stream:"

# The one consumer group all workers share: each entry is delivered to exactly one worker.
CONSUMER_GROUP: Final = "workers"

# Job record hash, "pf:job:<id>". The job id is uuid4 hex (32 lowercase hex characters).
JOB_PREFIX: Final = KEY_PREFIX + "job:"

# Per-queue count of accepted, not yet terminal jobs ("pf:active:hot"): the hard length limit is
# checked against it inside the enqueue script, so the limit is exact under any concurrency.
ACTIVE_PREFIX: Final = KEY_PREFIX + "active:"

# Idempotency key -> job id, "pf:idem:<key id>:<sha256 of key>": scoped per API key so two
# clients cannot see each other's jobs through a shared key.
IDEMPOTENCY_PREFIX: Final = KEY_PREFIX + "idem:"

# Retries waiting for their time: ZSET job id -> due time (epoch seconds). Workers move due
# members back to their stream with one Lua script, so a retry is moved exactly once.
RETRY_KEY: Final = KEY_PREFIX + "retry"

# Dead letters: ZSET job id -> time it died; the record (with its error) stays in its hash.
DEAD_KEY: Final = KEY_PREFIX + "dead"

# Pause flag of a queue, "pf:paused:hot": while it exists no worker takes a new job from that
# queue (enqueue still accepts). Always written with an expiry (`Settings.queue_pause_max_s`),
# so a pause whose operator vanished lifts itself.
PAUSED_PREFIX: Final = KEY_PREFIX + "paused:"

# Wake-up stream: pause and resume append one entry, so that workers blocked waiting for work see
# a resume at once instead of at their next poll. Capped (MAXLEN ~) because only its tip matters.
CONTROL_KEY: Final = KEY_PREFIX + "control"
CONTROL_MAXLEN: Final = 16

# Worker heartbeat, "pf:worker:<worker id>" holding JSON; expires unless renewed.
HEARTBEAT_PREFIX: Final = KEY_PREFIX + "worker:"

# ZSET worker id -> last heartbeat time: lets the API list workers without SCAN.
WORKERS_KEY: Final = KEY_PREFIX + "workers"

# Job counters and histogram buckets written by workers inside their fenced scripts (so a count
# is exact even across SIGKILLs) and read by the API's Prometheus collector.
STATS_KEY: Final = KEY_PREFIX + "stats"

# A heartbeat lives this many intervals: one missed beat (a GC pause, a slow Redis) is not a
# death, three are. Health calls a worker stale at 2 intervals, before its key vanishes.
HEARTBEAT_TTL_INTERVALS: Final = 3

# Safety TTL of a job record that is not yet terminal: 30 days. A record must outlive any
# realistic backlog and retry schedule, but an orphan (bug, manual surgery) must not live forever.
# Terminal records get `Settings.job_retention_s` instead.
JOB_SAFETY_TTL_S: Final = 30 * 24 * 3600

# attempt_history keeps the last 20 attempts: enough to read a retry story, bounded in size
# even when an admin requeues a dead job again and again.
ATTEMPT_HISTORY_MAX: Final = 20

# Longest stored error text (characters): tracebacks are logged, the record keeps a summary.
ERROR_MAX_CHARS: Final = 2_000

# Retries moved from the ZSET to the streams per script call: bounds the script's run time
# (Redis is single threaded) while a backlog of due retries still drains within a few calls.
RETRY_MOVE_BATCH: Final = 100

# Reconnect backoff after a lost Redis connection: start fast (a restart takes ~100 ms) and
# never wait longer than 2 s, so a worker resumes promptly after an outage.
RECONNECT_BACKOFF_MIN_S: Final = 0.05
RECONNECT_BACKOFF_MAX_S: Final = 2.0

# Histogram bounds (seconds) for job duration and enqueue-to-start wait; written by Lua into
# STATS_KEY, so they are fixed here rather than in prometheus_client's defaults.
DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)


# --- ingestion (service/ingest/) ---
# Next free arXiv request slot (epoch ms, Redis clock), reserved atomically by a Lua script so
# that every poller and worker process shares one cadence. Expires soon after the slot passes:
# a stale value would only ever delay, never permit, so a short TTL loses nothing.
ARXIV_NEXT_SLOT_KEY: Final = KEY_PREFIX + "arxiv:next"
# Held while one arXiv request is on the wire ("one connection at a time"); PX = request timeout
# plus a margin, so a process killed mid-request frees it on its own.
ARXIV_INFLIGHT_KEY: Final = KEY_PREFIX + "arxiv:inflight"
# Added to every reserved slot: covers the wake-up and connect jitter of the sleeping process, so
# two arrivals at the server are never closer than the interval even when the first was late.
ARXIV_SLOT_MARGIN_S: Final = 0.05
# Earliest time (epoch ms, Redis clock) the next arXiv request may start: the end of the last
# request plus the interval, set while the in-flight lock is held. The end of a request is after
# its arrival at arXiv, so two arrivals are at least the interval apart however late a request
# left; the slot above only orders the processes.
ARXIV_NOT_BEFORE_KEY: Final = KEY_PREFIX + "arxiv:not-before"
# Poller and ingestion counters and timestamps (requests, backoffs, last poll, last document),
# read by the API's /metrics collector and by /health's ingestion component.
INGEST_STATS_KEY: Final = KEY_PREFIX + "ingest:stats"
# arXiv ids already turned into jobs ("pf:ingest:seen:arxiv"): a set, so a restarted poller does
# not enqueue the same paper again. Document upserts are idempotent anyway; this saves the jobs.
ARXIV_SEEN_KEY: Final = KEY_PREFIX + "ingest:seen:arxiv"
# Cached robots.txt per origin, "pf:robots:<origin>"; the TTL is Settings.robots_cache_ttl_s.
ROBOTS_PREFIX: Final = KEY_PREFIX + "robots:"


def stream_key(queue: str) -> str:
    """The stream of a queue, e.g. ``pf:stream:hot``."""
    return STREAM_PREFIX + queue


def job_key(job_id: str) -> str:
    """The hash of a job record."""
    return JOB_PREFIX + job_id


def active_key(queue: str) -> str:
    """Counter of accepted, not terminal jobs of a queue (what the length limit counts)."""
    return ACTIVE_PREFIX + queue


def heartbeat_key(worker_id: str) -> str:
    """Heartbeat of one worker."""
    return HEARTBEAT_PREFIX + worker_id


def paused_key(queue: str) -> str:
    """Pause flag of a queue (exists = paused)."""
    return PAUSED_PREFIX + queue


# Outbound rate-limit state per destination, "pf:outbound:until:<host:port>" -> epoch ms (Redis
# clock) before which no process may call it (set from 429/Retry-After/X-RateLimit-Remaining: 0).
# Shared in Redis because the limit is the destination's, whichever process hits it. Expires a
# second after the reset time itself, so a stale entry never blocks.
OUTBOUND_UNTIL_PREFIX: Final = KEY_PREFIX + "outbound:until:"
# One request on the wire per destination across all processes, "pf:outbound:inflight:<host:port>"
# (a redis-py Lock): held from before a request is sent until its answer has been recorded, so no
# request can pass the until mark while another's 429 is on its way back. Its TTL is the longest
# legitimate hold (one request's total deadline, connect + read timeout; nobody sleeps holding
# it) plus this margin for the Redis calls around it, so a process killed while holding it frees
# the destination soon after, and a live holder never loses it.
OUTBOUND_INFLIGHT_PREFIX: Final = KEY_PREFIX + "outbound:inflight:"
OUTBOUND_LOCK_MARGIN_S: Final = 5.0

# What the platform sent to each destination, "pf:outbound:log:<host:port>" (a stream of JSON
# entries: every request on the wire with its time, path, status and duration, and every
# robots.txt decision), read by GET /admin/outbound/requests: how an operator (and the release
# gate, on a deployment whose sites it cannot ask) proves the platform's cadence, its respect of
# Retry-After and of robots.txt. One stream per destination so a chatty one never pushes a slow
# one's history out; each is capped (MAXLEN ~) at OUTBOUND_LOG_MAXLEN entries, ten minutes of
# fetches at the rate limits' pace and 50 minutes of arXiv's 3 s cadence, and expires
# OUTBOUND_LOG_TTL_S after its last entry (the longest post-deployment window), so a destination
# no longer called leaves nothing behind. The set indexes the streams (same TTL) for the route.
OUTBOUND_LOG_PREFIX: Final = KEY_PREFIX + "outbound:log:"
OUTBOUND_LOG_INDEX_KEY: Final = KEY_PREFIX + "outbound:log-index"
OUTBOUND_LOG_MAXLEN: Final = 1000
OUTBOUND_LOG_TTL_S: Final = 24 * 3600

# Longest pause a destination may impose through its headers (seconds): a buggy or hostile
# Retry-After of a year must not stop ingestion for a year.
OUTBOUND_MAX_BACKOFF_S: Final = 3600

# Last document-store backup (JSON: at, path, ok, error, counts, bytes), written by the API's
# admin route and the worker's "backup" job, read by /health and /admin/backups/latest. No TTL:
# the age of the last backup is the very thing operators must see.
BACKUP_LAST_KEY: Final = KEY_PREFIX + "backup:last"

# --- scheduled jobs (service/scheduler/) ---
# State of one schedule, "pf:sched:<name>" (hash: declared_at, period_s, next_due_at, state,
# run_id, holder, started_at, finished_at, outcome, error, duration_s, last_success_at, runs,
# failures, result). One hash per schedule so that a claim is one atomic script on one key and
# health reads every schedule in one pipelined round trip. No TTL: the age of the last run is
# exactly what operators and the release gate must see, however old it is.
SCHEDULE_PREFIX: Final = KEY_PREFIX + "sched:"
# Lease of the run in progress, "pf:sched:lease:<name>" -> the holder's run token, SET with PX by
# the claim script. While it exists no other process starts that schedule (runs never overlap);
# PX = the run timeout plus SCHEDULE_LEASE_MARGIN_S, so a worker SIGKILLed mid-run frees the
# schedule by itself and the next claim records that run as lost.
SCHEDULE_LEASE_PREFIX: Final = KEY_PREFIX + "sched:lease:"
# Covers the gap between a run's timeout firing and its outcome being written: a run that timed
# out still records its failure before another process may claim the schedule.
SCHEDULE_LEASE_MARGIN_S: Final = 30.0
# A schedule is never called overdue sooner than this after it was due, whatever its period: a
# loaded host may start a short-period job (the stack's 1 s poll) seconds late, and health
# degrading on that would be noise. Production periods (minutes to days) are far above it.
SCHEDULE_OVERDUE_MIN_GRACE_S: Final = 30.0
# Longest stored result summary of a run (characters): the figures of a backup or purge, not logs.
SCHEDULE_RESULT_MAX_CHARS: Final = 500


def schedule_key(name: str) -> str:
    """State hash of one schedule, e.g. ``pf:sched:backup``."""
    return SCHEDULE_PREFIX + name


def schedule_lease_key(name: str) -> str:
    """Lease of a schedule's run in progress (exists = a run holds it)."""
    return SCHEDULE_LEASE_PREFIX + name


# --- per-key rate limits (service/security/rate_limits.py, rate_leases.py) ---

# Fixed-window counters, "pf:rl:LIMITER/<key id>/<amount>/<multiples>/<granularity>" (the
# `limits` library's own key layout after this prefix), shared by every API process so a key has
# one budget however many processes serve it. The counter's TTL is the window: it is set when the
# window's first hit (or first lease) creates the key, so a window ends for every process at the
# same instant and nothing is left behind. With leases the counter holds hits *reserved* by the
# processes, never more than the limit: a reservation takes only what is left, so the key is
# never over-admitted (docs/DESIGN.md, "Rate limits").
RATE_LIMIT_PREFIX: Final = KEY_PREFIX + "rl"
