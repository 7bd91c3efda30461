"""Parsers of untrusted content: Atom feeds (arXiv), HTML pages and Markdown READMEs.

Pure functions from bytes to JSON-able dicts, run inside ``service.security.sandbox`` (a subprocess
with CPU, memory, file and network limits). XML goes through defusedxml: entity expansion (billion
laughs), external entities and DTD retrieval raise instead of being resolved.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from defusedxml import ElementTree

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
MAX_TEXT_CHARS = 20_000  # stored text is bounded whatever the page holds
_ID = re.compile(r"abs/([^/]+?)(v\d+)?$")


def _text(element: Any, tag: str) -> str:
    found = element.find(tag)
    return " ".join((found.text or "").split()) if found is not None else ""


def parse_atom(data: bytes) -> dict[str, Any]:
    """An arXiv API feed -> ``{"total", "start", "entries": [{id, title, summary, authors, link,
    licence, categories, published, updated}]}``."""
    root = ElementTree.fromstring(data, forbid_dtd=True)
    entries = []
    for entry in root.findall(f"{ATOM}entry"):
        raw_id = _text(entry, f"{ATOM}id")
        match = _ID.search(raw_id)
        links = {
            link.get("rel", "alternate"): link.get("href", "")
            for link in entry.findall(f"{ATOM}link")
        }
        entries.append(
            {
                "id": match.group(1) if match else raw_id,
                "title": _text(entry, f"{ATOM}title"),
                "summary": _text(entry, f"{ATOM}summary"),
                "authors": [_text(a, f"{ATOM}name") for a in entry.findall(f"{ATOM}author")],
                "link": links.get("alternate") or raw_id,
                "licence": links.get("license", ""),
                "categories": [c.get("term", "") for c in entry.findall(f"{ATOM}category")],
                "published": _text(entry, f"{ATOM}published"),
                "updated": _text(entry, f"{ATOM}updated"),
            }
        )
    total = _text(root, f"{OPENSEARCH}totalResults")
    start = _text(root, f"{OPENSEARCH}startIndex")
    return {"total": int(total or 0), "start": int(start or 0), "entries": entries}


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.licence = ""
        self.parts: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and (values.get("name") or "").lower() == "license":
            self.licence = values.get("content") or ""
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in and self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        current = self._in[-1] if self._in else ""
        if current in ("script", "style"):
            return
        if current == "title" and not self.title:
            self.title = data.strip()
        elif data.strip() and sum(map(len, self.parts)) < MAX_TEXT_CHARS:
            self.parts.append(data.strip())


def parse_html_page(data: bytes) -> dict[str, Any]:
    """A model card / repository page -> ``{"title", "licence", "text"}``."""
    parser = _PageParser()
    parser.feed(data.decode("utf-8", errors="replace"))
    parser.close()
    return {
        "title": parser.title,
        "licence": parser.licence,
        "text": " ".join(parser.parts)[:MAX_TEXT_CHARS],
    }


def parse_markdown(data: bytes) -> dict[str, Any]:
    """A README / model card in Markdown with optional YAML-ish front matter (``license: x``)."""
    text = data.decode("utf-8", errors="replace")
    licence = ""
    if text.startswith("---\n"):
        front, _, text = text[4:].partition("\n---")
        for line in front.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() in ("license", "licence"):
                licence = value.strip()
    title = next(
        (line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")), ""
    )
    return {"title": title, "licence": licence, "text": " ".join(text.split())[:MAX_TEXT_CHARS]}


PARSERS = {"atom": parse_atom, "html": parse_html_page, "markdown": parse_markdown}
