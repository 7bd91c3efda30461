"""The Lua every script of the platform starts with: the Redis clock, read one way.

Scripts take their time from Redis ``TIME`` rather than from the caller, so that every process
(API, workers, pollers on other hosts) agrees on one clock and an atomic step cannot be skewed by
a slow client. Written once here so that the queue, the scheduler, the arXiv throttle and the
outbound limits cannot drift apart in how they read it.
"""

from __future__ import annotations

from typing import Final

TIME_PRELUDE: Final = r"""
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fmt(x) return string.format('%.6f', x) end
"""

# Milliseconds until KEYS[1] (epoch ms on the Redis clock), 0 when it has passed or is unset.
UNTIL_MS: Final = (
    TIME_PRELUDE + "return math.max(0, tonumber(redis.call('GET', KEYS[1]) or '0') - now_ms())\n"
)
