"""The retention purge on real Valkey and SQLite: documents past policy, expired dead-letter
entries, job records without a TTL; the dry run changes nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.documents.store import DocumentStore
from service.keyspace import keys as c
from service.scheduler import retention
from service.settings import Settings
from tests.support.jobs import connect, fresh_settings


def _stale_upload(store: DocumentStore, days: int) -> None:
    stamp = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")
    conn = sqlite3.connect(store.path)
    try:
        conn.execute(
            "INSERT INTO documents (id, source, source_id, title, link, authors, licence,"
            " licence_class, content, content_kind, checksum, ingested_at, updated_at, metadata)"
            " VALUES ('upload:old', 'upload', 'old', 'old', 'upload://old', '[]', 'unknown',"
            " 'unknown', '', 'none', '', ?, ?, '{}')",
            (stamp, stamp),
        )
        conn.commit()
    finally:
        conn.close()


def test_purge_documents_and_records(redis_server: str, tmp_path: Path) -> None:
    """Dry run counts; the purge deletes the stale upload, drops the dead-letter entry whose
    record expired, and gives a record without TTL the policy's TTL (terminal: job_retention_s)."""
    settings: Settings = fresh_settings(
        redis_server, data_dir=tmp_path / "data", job_retention_s=3600
    )
    store = DocumentStore.from_settings(settings)
    _stale_upload(store, settings.documents_retention_days["upload"] + 1)

    async def body() -> None:
        async with connect(settings) as r:
            await r.zadd(c.DEAD_KEY, {"gone": 1.0, "kept": 2.0})
            await r.hset(c.job_key("kept"), mapping={"status": "dead"})
            await r.expire(c.job_key("kept"), 600)
            await r.hset(c.job_key("forever"), mapping={"status": "succeeded"})
            dry = await retention.purge(settings, store, r, dry_run=True)
            assert dry["purged"]["upload"] == 1
            assert dry["records"] == {"dead_letters_expired": 1, "job_records_ttl_set": 1}
            assert await r.zcard(c.DEAD_KEY) == 2 and await r.ttl(c.job_key("forever")) == -1
            done = await retention.purge(settings, store, r)
            assert done["purged"]["upload"] == 1 and done["records"]["dead_letters_expired"] == 1
            assert await r.zrange(c.DEAD_KEY, 0, -1) == ["kept"]
            assert 0 < await r.ttl(c.job_key("forever")) <= 3600
            assert 0 < await r.ttl(c.job_key("kept")) <= 600  # an existing TTL is kept
            again = await retention.purge(settings, store, r)
            assert again["purged"]["upload"] == 0 and set(again["records"].values()) == {0}

    asyncio.run(body())
