"""The arXiv emulator's corpus and its query language (the subset export.arxiv.org documents).

``search_query`` terms are ``prefix:value`` (``ti``, ``au``, ``abs``, ``cat``, ``all``) joined by
``AND``/``OR``/``ANDNOT``, evaluated left to right as arXiv does without parentheses. Enough for
a poller's ``cat:cs.CL OR cat:cs.LG``; anything else is matched as ``all:``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).with_name("fixtures") / "corpus.json"
_TERM = re.compile(r"(AND NOT|ANDNOT|AND|OR)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Paper:
    id: str
    version: int
    title: str
    summary: str
    authors: tuple[str, ...]
    published: datetime
    updated: datetime
    categories: tuple[str, ...]
    licence: str
    comment: str


def _paper(raw: dict[str, Any]) -> Paper:
    published = datetime.fromisoformat(raw["published"].replace("Z", "+00:00"))
    return Paper(
        id=raw["id"],
        version=int(raw["version"]),
        title=raw["title"],
        summary=raw["summary"],
        authors=tuple(raw["authors"]),
        published=published,
        updated=datetime.fromisoformat(raw.get("updated", raw["published"]).replace("Z", "+00:00")),
        categories=tuple(raw["categories"]),
        licence=raw["licence"],
        comment=raw.get("comment", ""),
    )


def load(path: Path = FIXTURE) -> list[Paper]:
    return [_paper(e) for e in json.loads(path.read_text(encoding="utf-8"))["entries"]]


def fresh_paper(n: int, now: datetime | None = None) -> Paper:
    """A paper "submitted" now: the emulator adds one every ``--new-every-s`` seconds so that a
    poller keeps finding new work, as it would on the real feed."""
    stamp = now or datetime.now(UTC)
    return Paper(
        id=f"2612.{n:05d}",
        version=1,
        title=f"Streaming Evaluation of Language Models, Part {n}",
        summary="We evaluate language models on streaming benchmarks and report latency.",
        authors=("Mira Kovac", "Daniel Osei"),
        published=stamp,
        updated=stamp,
        categories=("cs.CL",),
        licence="http://creativecommons.org/licenses/by/4.0/",
        comment="6 pages",
    )


def _field(paper: Paper, prefix: str) -> str:
    if prefix == "ti":
        return paper.title
    if prefix == "au":
        return " ".join(paper.authors)
    if prefix == "abs":
        return paper.summary
    if prefix == "cat":
        return " ".join(paper.categories)
    if prefix == "id":
        return paper.id
    return " ".join((paper.title, paper.summary, *paper.authors, *paper.categories))


def _term_matches(paper: Paper, term: str) -> bool:
    prefix, sep, value = term.partition(":")
    if not sep:
        prefix, value = "all", term
    value = value.strip().strip('"').lower()
    if prefix.lower() == "cat":
        return any(
            c.lower() == value or c.lower().startswith(value + ".") for c in paper.categories
        )
    words = value.split()
    haystack = _field(paper, prefix.lower()).lower()
    return all(word in haystack for word in words)


def matches(paper: Paper, query: str) -> bool:
    """Evaluate ``search_query`` against one paper (empty query: everything)."""
    parts = _TERM.split(query.strip())
    if not parts or parts == [""]:
        return True
    result = _term_matches(paper, parts[0].strip())
    for op, term in zip(parts[1::2], parts[2::2], strict=False):
        hit = _term_matches(paper, term.strip())
        op = op.upper().replace(" ", "")
        result = result or hit if op == "OR" else result and (not hit if op == "ANDNOT" else hit)
    return result


def search(
    papers: list[Paper], query: str, id_list: list[str], sort_by: str, sort_order: str
) -> list[Paper]:
    """Filter and sort as the API does; ``relevance`` keeps corpus order (newest added last)."""
    found = [p for p in papers if (not id_list or p.id in id_list) and matches(p, query)]
    if sort_by in ("submittedDate", "lastUpdatedDate"):
        attr = "published" if sort_by == "submittedDate" else "updated"
        found.sort(key=lambda p: getattr(p, attr), reverse=sort_order != "ascending")
    return found
