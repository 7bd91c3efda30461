"""Data Handling: personal data in webhook payloads is never stored; a subject can be erased.

Canary names and e-mail addresses are sent in real signed events (pusher, commit authors,
sender, discussion author), then searched for in what the target answers (search over every
canary, the webhook jobs' records), in its logs (the run's log source) and, on a reference
stack, in everything it keeps: every Redis key of the platform and the document store's files.
"""

from __future__ import annotations

import json
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
from acceptance.support.logs import LogSource, read_logs, since_now
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


def _answer_hits(
    client: httpx.Client, admin_client: httpx.Client, jobs: list[str], needles: list[str]
) -> dict[str, list[str]]:
    """Where the target's own answers hold a canary: the results of a search for it (not the
    echo of the query), the webhook jobs' records."""
    answers = {
        f"search {n[:12]}...": json.dumps(search(client, n).json().get("results", []))
        for n in needles
    }
    answers.update({f"job {j}": admin_client.get(f"/status/{j}").text for j in jobs})
    return {
        where: [n[:12] + "..." for n in needles if n.lower() in text.lower()]
        for where, text in answers.items()
        if any(n.lower() in text.lower() for n in needles)
    }


def _stored_hits(stack: Any, needles: list[str]) -> dict[str, list[str]]:
    """Redis keys and document files of a reference stack holding a canary; {} elsewhere."""
    if stack is None:
        return {}
    found = {
        "redis": _redis_hits(stack.redis_url, needles),
        "documents": _file_hits(Path(stack.dir) / "data", needles),
    }
    return {where: hits for where, hits in found.items() if hits}


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
    log_source: LogSource,
    anon_client: httpx.Client,
    client: httpx.Client,
    admin_client: httpx.Client,
    config: SuiteConfig,
    evidence: Evidence,
) -> None:
    """Canary people in signed GitHub and HF events appear in no answer, log, Redis key or
    document file; erasing the repository owner (kept for attribution) removes their document."""
    since = since_now(config)
    tag = uuid.uuid4().hex[:10]
    email, person, login = f"canary.{tag}@example.org", f"Canary Person{tag}", f"canary{tag}"
    author_id = f"canaryhf{tag}"
    owner, word = f"canaryowner{tag}", unique_word()
    github = send_github(
        anon_client,
        webhook_secret(target, config, "github"),
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
        webhook_secret(target, config, "huggingface"),
        hf_payload(f"{owner}/{word}-model", author_id=author_id),
    )
    assert github.status_code == 202 and hf.status_code == 202, (github.text, hf.text)
    wait_searchable(client, word, config.ingestion.ingest_timeout_s)
    needles = [email, person, login, author_id]
    jobs = [str(r.json()["job_id"]) for r in (github, hf)]
    in_answers = _answer_hits(client, admin_client, jobs, needles)
    stored = _stored_hits(target.stack, needles)
    in_logs = read_logs(log_source, since).occurrences(needles)
    erase = admin_client.post("/admin/subjects/erase", json={"subject": owner})
    after = search(client, word).json().get("results", [])
    # Erasure covers every record that names the subject: the webhook jobs' payloads and results.
    left_after_erase = _answer_hits(client, admin_client, jobs, [owner])
    evidence.add(
        canaries=len(needles),
        answers_with_canary=in_answers,
        stored_with_canary=stored if target.stack is not None else "not inspected (no stack)",
        logs_with_canary=in_logs,
        log_source=log_source.describe(),
        erase=erase.json() if erase.status_code == 200 else erase.text,
        results_after_erase=len(after),
        subject_left_after_erase=left_after_erase,
    )
    assert not in_answers, f"personal data returned by the target: {sorted(in_answers)}"
    assert not stored, f"personal data stored: {stored}"
    assert not in_logs, f"personal data written to logs: {sorted(in_logs)}"
    assert erase.status_code == 200, f"erase: {erase.status_code} {erase.text}"
    assert erase.json()["documents_deleted"] >= 1, erase.json()
    assert not after, f"documents of the erased subject still searchable: {after}"
    assert not left_after_erase, f"the erased subject is still named in {sorted(left_after_erase)}"
