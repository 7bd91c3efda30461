"""robots.txt: fetched once per origin through the outbound client, cached in Redis, obeyed.

RFC 9309 semantics: a 4xx robots.txt (other than 429) means "no rules" (allow all); a 5xx, a 429
or an unreachable origin means "assume everything is disallowed" until the next try, which
comes sooner (``UNREACHABLE_TTL_S``) than a normal refresh (``robots_cache_ttl_s``).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from redis.asyncio import Redis

from service.keyspace import keys as c
from service.outbound import request_log
from service.outbound.client import EgressRefused, OutboundClient, OutboundError
from service.settings import Settings

log = logging.getLogger("service.ingest.robots")
AGENT = "preflight-platform"  # the product token of our User-Agent, what robots.txt names
DISALLOW_ALL = "User-agent: *\nDisallow: /\n"
UNREACHABLE_TTL_S = 60


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def rules_for(settings: Settings, redis: Redis, outbound: OutboundClient, url: str) -> str:
    origin = origin_of(url)
    key = c.ROBOTS_PREFIX + origin
    cached = await redis.get(key)
    if cached is not None:
        return str(cached)
    ttl = settings.robots_cache_ttl_s
    try:
        response = await outbound.get(origin + "/robots.txt", destination="robots")
        status = response.status_code
        if status == 200:
            text = response.text
        elif 400 <= status < 500 and status != 429:
            text = ""
        else:
            text, ttl = DISALLOW_ALL, UNREACHABLE_TTL_S
    except EgressRefused:
        raise
    except OutboundError as exc:
        log.warning("robots.txt of %s unreachable (%s): disallowing all for now", origin, exc)
        text, ttl = DISALLOW_ALL, UNREACHABLE_TTL_S
    await redis.set(key, text, ex=ttl)
    return text


async def allowed(settings: Settings, redis: Redis, outbound: OutboundClient, url: str) -> bool:
    """May ``url`` be fetched? Always True when ``robots_obey`` is off (unsafe)."""
    if not settings.robots_obey:
        return True
    parser = RobotFileParser()
    parser.parse((await rules_for(settings, redis, outbound, url)).splitlines())
    verdict = parser.can_fetch(AGENT, url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    await request_log.record_robots(redis, f"{parts.hostname}:{port}", parts.path or "/", verdict)
    return verdict
