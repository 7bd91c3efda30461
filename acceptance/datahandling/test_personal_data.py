"""Data Handling: personal data in webhook payloads is never stored; a subject can be erased.

Ground truth: canary names and e-mail addresses are sent in real signed events (pusher, commit
authors, sender, discussion author), then searched for in everything the stack keeps: every
Redis key of the platform, the document store's files and every log file.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.settings import SuiteConfig
from acceptance.support.documents_api import search, unique_word
from acceptance.support.ingestion import wait_searchable, webhook_secret
from acceptance.support.logfiles import occurrences
from service.stack.send_webhook import github_payload, hf_payload, send_github, send_huggingface


def _redis_hits(url: str, needles: list[str]) -> list[str]:
    """Keys of the platform (pf:*) whose value contains a needle (strings, hashes, streams)."""
    client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)
    hits: list[str] = []
    try:
        for key in client.scan_iter(match="pf:*", count=1000):
            kind = client.type(key)
            if kind == "string":
                blob = str(client.get(key))
            elif kind == "hash":
                blob = repr(client.hgetall(key))
            elif kind == "stream":
                blob = repr(client.xrange(key, count=10_000))
            elif kind in ("set", "zset", "list"):
                blob = (
                    repr(client.sort(key, alpha=True))
                    if kind != "zset"
                    else repr(client.zrange(key, 0, -1))
                )
            else:
                continue
            if any(n.lower() in blob.lower() for n in needles):
                hits.append(key)
    finally:
        client.close()
    return hits


def _file_hits(directory: Path, needles: list[str]) -> list[str]:
    found = []
    for path in sorted(directory.glob("*.sqlite3*")):
        data = path.read_bytes().lower()
        if any(n.lower().encode() in data for n in needles):
            found.append(path.name)
    return found


@pytest.mark.checklist("datahandling.personal-data")
def test_webhook_personal_data_not_stored_and_erasable(
    target: Target,
    stack: Any,
    anon_client: httpx.Client,
    client: httpx.Client,
    admin_client: httpx.Client,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Canary people in signed GitHub and HF events appear in no Redis key, document file or log;
    erasing the repository owner (kept for attribution) removes their document."""
    tag = uuid.uuid4().hex[:10]
    email, person, login = f"canary.{tag}@example.org", f"Canary Person{tag}", f"canary{tag}"
    author_id = f"canaryhf{tag}"
    owner, word = f"canaryowner{tag}", unique_word()
    github = send_github(
        anon_client,
        webhook_secret(target, "github"),
        "push",
        github_payload(
            "push",
            f"{owner}/{word}",
            person=person,
            email=email,
            login=login,
            description=f"{word} retrieval toolkit",
        ),
    )
    hf = send_huggingface(
        anon_client,
        webhook_secret(target, "huggingface"),
        hf_payload(f"{owner}/{word}-model", author_id=author_id),
    )
    assert github.status_code == 202 and hf.status_code == 202, (github.text, hf.text)
    wait_searchable(client, word, config.ingestion.ingest_timeout_s)
    needles = [email, person, login, author_id]
    in_redis = _redis_hits(stack.redis_url, needles)
    in_files = _file_hits(Path(stack.dir) / "data", needles)
    in_logs = occurrences(stack, needles)
    erase = admin_client.post("/admin/subjects/erase", json={"subject": owner})
    after = search(client, word).json().get("results", [])
    evidence.add(
        canaries=len(needles),
        redis_keys_with_canary=in_redis,
        document_files_with_canary=in_files,
        logs_with_canary=in_logs,
        erase=erase.json() if erase.status_code == 200 else erase.text,
        results_after_erase=len(after),
    )
    assert not in_redis, f"personal data stored in Redis: {in_redis[:5]}"
    assert not in_files, f"personal data stored in the document store: {in_files}"
    assert not in_logs, f"personal data written to logs: {in_logs}"
    assert erase.status_code == 200, f"erase: {erase.status_code} {erase.text}"
    assert erase.json()["documents_deleted"] >= 1, erase.json()
    assert not after, f"documents of the erased subject still searchable: {after}"
