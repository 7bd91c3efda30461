"""What a document is: the record the ingestion hands in and the record the store keeps.

Licence handling is decided here, once: the licence string maps to a class, and the class decides
how much text is kept (full text only for permissive licences, a bounded snippet otherwise,
nothing but metadata for gated items). Callers cannot store more than the policy allows.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["arxiv", "huggingface", "github", "upload"]
LicenceClass = Literal["permissive", "restricted", "gated", "unknown"]
ContentKind = Literal["full", "snippet", "none"]
UpsertResult = Literal["inserted", "updated", "unchanged"]

# SPDX ids (lowercase) whose terms allow keeping and redistributing the full text.
PERMISSIVE = frozenset(
    {
        "mit",
        "apache-2.0",
        "bsd-2-clause",
        "bsd-3-clause",
        "isc",
        "cc0-1.0",
        "cc-by-4.0",
        "cc-by-3.0",
        "unlicense",
        "zlib",
        "0bsd",
        "bsl-1.0",
        "openrail",
        "public-domain",
        "http://creativecommons.org/licenses/by/4.0/",
        "http://creativecommons.org/publicdomain/zero/1.0/",
    }
)
# Licences that forbid or condition redistribution (non-commercial, no-derivatives, share-alike,
# copyleft, arXiv's non-exclusive distribution licence, model licences with use restrictions).
RESTRICTED_PATTERNS = (
    r"\bnc\b",
    r"-nc-",
    r"\bnd\b",
    r"-nd-",
    r"-sa-",
    r"\bsa\b",
    r"gpl",
    r"nonexclusive-distrib",
    r"llama",
    r"gemma",
    r"openrail\+\+|openrail-m|creativeml",
    r"proprietary",
    r"cc-by-nc",
)


def classify_licence(licence: str, *, gated: bool = False) -> LicenceClass:
    """The class of a licence string (SPDX id or URL); gated items are gated whatever the text."""
    if gated:
        return "gated"
    key = licence.strip().lower()
    if not key or key in ("unknown", "other", "noassertion", "none"):
        return "unknown"
    if any(re.search(p, key) for p in RESTRICTED_PATTERNS):
        return "restricted"
    if key in PERMISSIVE or key.rstrip("/") + "/" in PERMISSIVE:
        return "permissive"
    return "unknown"


class DocumentIn(BaseModel):
    """What the ingestion (or the upload route) hands to `DocumentStore.upsert`."""

    model_config = ConfigDict(extra="forbid")

    source: Source
    source_id: str = Field(min_length=1, max_length=300)
    title: str = Field(min_length=1, max_length=1_000)
    link: str = Field(min_length=1, max_length=2_000)
    authors: list[str] = Field(default_factory=list, max_length=500)
    licence: str = Field(default="unknown", max_length=200)
    licence_class: LicenceClass | None = None  # None: derived from `licence`
    content: str = ""  # the full text as fetched; the store keeps what the licence allows
    metadata: dict[str, Any] = Field(default_factory=dict)
    subjects: list[str] = Field(default_factory=list, max_length=100)  # pseudonymous ids


@dataclass(frozen=True, slots=True)
class Document:
    """A stored document, as the store returns it."""

    id: str
    source: str
    source_id: str
    title: str
    link: str
    authors: list[str]
    licence: str
    licence_class: str
    content: str
    content_kind: str
    checksum: str
    ingested_at: str
    updated_at: str
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: str
    source: str
    title: str
    link: str
    authors: list[str]
    licence: str
    licence_class: str
    snippet: str
    score: float


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    hits: list[SearchHit]


def document_id(source: str, source_id: str) -> str:
    return f"{source}:{source_id}"


def bounded_snippet(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut + "…"


def checksum(fields: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of what is stored (so it can be re-verified at any time)."""
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


CHECKSUM_FIELDS = (
    "source",
    "source_id",
    "title",
    "link",
    "authors",
    "licence",
    "licence_class",
    "content",
    "content_kind",
    "metadata",
)
