"""GET /admin/outbound/requests over HTTP: admin only, grouped per destination, since-filtered."""

from __future__ import annotations

import asyncio
import time

import httpx
import redis.asyncio as aioredis

from service.outbound import request_log
from tests.support.api import KEYS, LiveServer

ADMIN = {"Authorization": f"Bearer {KEYS['ops']}"}
API = {"Authorization": f"Bearer {KEYS['ci']}"}


def _record(redis_url: str) -> None:
    async def go() -> None:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            await request_log.record_request(
                client,
                "export.arxiv.org:443",
                destination="arxiv",
                method="GET",
                path="/api/query",
                sent_at=time.time() - 0.05,
                status=200,
                outcome="ok",
            )
            await request_log.record_robots(client, "huggingface.co:443", "/private/x", False)
        finally:
            await client.aclose()

    asyncio.run(go())


def test_requests_and_robots_decisions_per_destination(api: LiveServer) -> None:
    _record(api.settings.redis_url)
    with httpx.Client(base_url=api.url, timeout=10) as http:
        answer = http.get("/admin/outbound/requests", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        arxiv = body["destinations"]["export.arxiv.org:443"]
        assert [(r["path"], r["status"]) for r in arxiv["requests"]] == [("/api/query", 200)]
        robots = body["destinations"]["huggingface.co:443"]["robots"]
        assert [(r["path"], r["allowed"]) for r in robots] == [("/private/x", False)]
        later = http.get(
            "/admin/outbound/requests", params={"since": time.time() + 5}, headers=ADMIN
        )
        assert later.json()["destinations"] == {}
        iso = http.get(
            "/admin/outbound/requests", params={"since": "2000-01-01T00:00:00Z"}, headers=ADMIN
        )
        assert set(iso.json()["destinations"]) == set(body["destinations"])


def test_admin_only_and_since_validated(api: LiveServer) -> None:
    with httpx.Client(base_url=api.url, timeout=10) as http:
        assert http.get("/admin/outbound/requests", headers=API).status_code == 403
        bad = http.get("/admin/outbound/requests", params={"since": "yesterday"}, headers=ADMIN)
        assert bad.status_code == 422 and bad.json()["error"]["param"] == "since"
