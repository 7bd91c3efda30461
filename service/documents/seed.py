"""Seed the store with the labelled fixture corpus: ``python -m service.documents.seed``.

The stack runs it before the API starts, so `endpoints.search` can measure relevance against
known judgements (``service/fixtures/corpus.json``: documents + queries with relevant ids). With
``--backup`` it then takes the first backup, so a fresh stack has a recent, verifiable one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from service.documents.backups import BackupsDisabledError, backup_and_record
from service.documents.models import DocumentIn
from service.documents.store import DocumentStore
from service.settings import get_settings

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus.json"


def load_corpus(path: Path = CORPUS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def seed(store: DocumentStore, path: Path = CORPUS) -> dict[str, int]:
    """Upsert every fixture document; counts per result (idempotent: a rerun is all unchanged)."""
    results: Counter[str] = Counter(
        store.upsert(DocumentIn(**d)) for d in load_corpus(path)["documents"]
    )
    return dict(results)


async def _backup() -> dict[str, Any] | None:
    """The first backup, or None when backups are off. A failure is recorded in Redis (health
    and the backup checks report it) and returned, not raised: like a deployment, the stack
    starts with a failing backup and says so, and the scheduler keeps trying."""
    settings = get_settings()
    redis = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        return await backup_and_record(settings, redis)
    except BackupsDisabledError:
        return None
    except Exception as exc:  # any failure: backup_and_record has recorded it with its error
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "path": None}
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.documents.seed")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--backup", action="store_true", help="take a backup afterwards")
    args = parser.parse_args(argv)
    store = DocumentStore.from_settings(get_settings())
    report: dict[str, Any] = {"seeded": seed(store, args.corpus)}
    if args.backup:
        entry = asyncio.run(_backup())
        report["backup"] = None if entry is None else entry["path"]
        report["backup_error"] = None if entry is None else entry.get("error")
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
