"""Job kinds of the ingestion: arXiv papers, webhook events, page fetches, sandbox probes.

Handlers get only (payload, attempt) from the worker, so the per-process resources they share
(settings, a Redis client, the outbound client, the document store) are opened once, lazily, in
``_Context``. Payloads hold no personal data: the webhook routes scrub them before enqueueing.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from service.documents import DocumentIn, DocumentStore
from service.ingest import personal, robots, stats
from service.outbound.client import EgressRefused, OutboundClient, OutboundError
from service.security import sandbox
from service.settings import Settings, get_settings


class _Context:
    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.redis: Redis | None = None
        self.outbound: OutboundClient | None = None
        self.store: DocumentStore | None = None

    def get(self) -> tuple[Settings, Redis, OutboundClient, DocumentStore]:
        if (
            self.settings is None
            or self.redis is None
            or self.outbound is None
            or self.store is None
        ):
            self.settings = get_settings()
            self.redis = Redis.from_url(
                self.settings.redis_url,
                decode_responses=True,
                socket_connect_timeout=2.0,
                socket_timeout=10.0,
            )
            self.outbound = OutboundClient(self.settings, self.redis)
            self.store = DocumentStore.from_settings(self.settings)
        return self.settings, self.redis, self.outbound, self.store


CONTEXT = _Context()


async def _save(doc: DocumentIn) -> dict[str, Any]:
    _, redis, _, store = CONTEXT.get()
    outcome = await asyncio.to_thread(store.upsert, doc)
    await stats.mark(redis, "job_last_completed")
    return {"document": f"{doc.source}:{doc.source_id}", "outcome": outcome}


class ArxivPaperPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=1000)
    summary: str = ""
    authors: list[str] = Field(default_factory=list)
    link: str = Field(min_length=1)
    licence: str = ""
    categories: list[str] = Field(default_factory=list)
    published: str = ""


async def run_arxiv_paper(p: ArxivPaperPayload, _attempt: Any) -> dict[str, Any]:
    settings = CONTEXT.get()[0]
    subjects = sorted({s for a in p.authors if (s := personal.pseudonym(settings, a))})
    return await _save(
        DocumentIn(
            source="arxiv",
            source_id=p.id,
            title=p.title,
            link=p.link,
            authors=p.authors,
            licence=p.licence or "unknown",
            content=p.summary,
            subjects=subjects,
            metadata={"categories": p.categories, "published": p.published},
        )
    )


class WebhookEventPayload(BaseModel):
    """A scrubbed event (``service.ingest.personal``); ``raw`` only when scrubbing is off."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["github", "huggingface"]
    delivery: str = Field(max_length=200)
    event: dict[str, Any]


def _github_doc(e: dict[str, Any]) -> DocumentIn:
    repo = e.get("repository") or {}
    name = str(repo.get("full_name") or repo.get("name") or "unknown")
    words = [str(repo.get("description") or ""), " ".join(repo.get("topics") or [])]
    if e.get("release"):
        words.append(str(e["release"].get("name") or e["release"].get("tag_name") or ""))
    owner = repo.get("owner")
    licence = repo.get("license")
    if isinstance(licence, dict):  # an unscrubbed payload carries GitHub's licence object
        licence = licence.get("spdx_id")
    return DocumentIn(
        source="github",
        source_id=name,
        title=name,
        link=str(repo.get("html_url") or f"https://github.com/{name}"),
        authors=[str(owner)] if isinstance(owner, str) and owner else [],
        licence=str(licence or "unknown")[:200],
        content=" ".join(w for w in words if w),
        metadata={"event": e.get("event"), "ref": e.get("ref"), "after": e.get("after")},
        subjects=list(e.get("subjects") or []),
    )


def _hf_doc(e: dict[str, Any]) -> DocumentIn:
    repo = e.get("repo") or {}
    name = str(repo.get("name") or "unknown")
    tags = [str(t) for t in repo.get("tags") or []]
    licence = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), "unknown")
    url = repo.get("url") or {}
    owner = repo.get("owner")
    return DocumentIn(
        source="huggingface",
        source_id=name,
        title=name,
        link=str(url.get("web") if isinstance(url, dict) else url)
        or f"https://huggingface.co/{name}",
        authors=[str(owner)] if isinstance(owner, str) and owner else [],
        licence=licence,
        content=" ".join([name.replace("/", " "), repo.get("type", ""), *tags]),
        metadata={
            "event": e.get("event"),
            "type": repo.get("type"),
            "gated": bool(repo.get("gated")),
        },
        subjects=list(e.get("subjects") or []),
    )


async def run_webhook_event(p: WebhookEventPayload, _attempt: Any) -> dict[str, Any]:
    await stats.mark(CONTEXT.get()[1], "webhook_last_processed")
    return await _save(_github_doc(p.event) if p.source == "github" else _hf_doc(p.event))


class FetchPagePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    source: Literal["huggingface", "github"] = "huggingface"


async def run_fetch_page(p: FetchPagePayload, _attempt: Any) -> dict[str, Any]:
    """Fetch a repo/model page if robots.txt allows it, parse it in the sandbox, store it.

    A URL (or a redirect hop, or its robots.txt) the egress policy refuses ends the job with
    ``refused``: retrying cannot change a policy, nothing was sent, and the refusal is already a
    security event, so it is an answer like robots.txt's "disallowed", not a dead letter."""
    settings, redis, outbound, _ = CONTEXT.get()
    try:
        if not await robots.allowed(settings, redis, outbound, p.url):
            return {"skipped": "disallowed by robots.txt", "url": p.url}
        response = await outbound.get(p.url, destination="pages")
    except EgressRefused as exc:
        return {"refused": exc.reason, "refused_url": exc.url, "url": p.url}
    if response.status_code != 200:
        raise OutboundError(f"{p.url}: HTTP {response.status_code}")
    page = await sandbox.parse(settings, "html", response.content)
    path = p.url.split("://", 1)[1].split("/", 1)[-1]
    return await _save(
        DocumentIn(
            source=p.source,
            source_id=path or p.url,
            title=page["title"] or path or p.url,
            link=p.url,
            licence=page["licence"] or "unknown",
            content=page["text"],
        )
    )


class SandboxProbePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["cpu", "memory", "write", "connect", "xml-bomb"]


async def run_sandbox_probe(p: SandboxProbePayload, _attempt: Any) -> dict[str, Any]:
    return await sandbox.probe(CONTEXT.get()[0], p.kind)
