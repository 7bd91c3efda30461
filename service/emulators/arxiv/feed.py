"""Atom rendering exactly as export.arxiv.org answers ``/api/query`` (namespaces, link
relations, opensearch counters, ``arxiv:*`` extensions), plus an RFC 4946 licence link."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from service.emulators.arxiv.corpus import Paper

ATOM_TYPE = "application/atom+xml; charset=utf-8"
_OS = 'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
_AX = 'xmlns:arxiv="http://arxiv.org/schemas/atom"'


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry(p: Paper) -> str:
    base = f"http://arxiv.org/abs/{p.id}v{p.version}"
    authors = "".join(
        f"\n    <author>\n      <name>{escape(a)}</name>\n    </author>" for a in p.authors
    )
    cats = "".join(
        f'\n    <category term="{escape(c)}" scheme="http://arxiv.org/schemas/atom"/>'
        for c in p.categories
    )
    return (
        f"  <entry>\n    <id>{base}</id>\n    <updated>{_ts(p.updated)}</updated>\n"
        f"    <published>{_ts(p.published)}</published>\n"
        f"    <title>{escape(p.title)}</title>\n    <summary>  {escape(p.summary)}\n</summary>"
        f"{authors}\n    <arxiv:comment {_AX}>{escape(p.comment)}</arxiv:comment>\n"
        f'    <link href="{base}" rel="alternate" type="text/html"/>\n'
        f'    <link title="pdf" href="http://arxiv.org/pdf/{p.id}v{p.version}" rel="related"'
        ' type="application/pdf"/>\n'
        f'    <link href={quoteattr(p.licence)} rel="license"/>\n'
        f'    <arxiv:primary_category {_AX} term="{escape(p.categories[0])}"'
        ' scheme="http://arxiv.org/schemas/atom"/>'
        f"{cats}\n  </entry>\n"
    )


def feed(query_string: str, papers: list[Paper], total: int, start: int, per_page: int) -> bytes:
    """The whole document; ``query_string`` echoes the request as arXiv's self link does."""
    digest = hashlib.sha1(query_string.encode(), usedforsecurity=False).hexdigest()[:27]
    now = datetime.now(UTC).strftime("%Y-%m-%dT00:00:00-05:00")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f'  <link href="http://arxiv.org/api/query?{quote(query_string, safe="")}" rel="self"'
        ' type="application/atom+xml"/>\n'
        f'  <title type="html">ArXiv Query: {escape(query_string)}</title>\n'
        f"  <id>http://arxiv.org/api/{digest}</id>\n  <updated>{now}</updated>\n"
        f"  <opensearch:totalResults {_OS}>{total}</opensearch:totalResults>\n"
        f"  <opensearch:startIndex {_OS}>{start}</opensearch:startIndex>\n"
        f"  <opensearch:itemsPerPage {_OS}>{per_page}</opensearch:itemsPerPage>\n"
    )
    return (head + "".join(entry(p) for p in papers) + "</feed>\n").encode()
