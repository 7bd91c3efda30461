"""Turn a user's search text into an FTS5 expression that cannot carry FTS5 syntax.

Why: FTS5 has its own query language (``NEAR``, ``column:``, ``*``, ``^``, quotes, parentheses);
passing user text raw lets a caller raise syntax errors (500s), query hidden columns or build
pathological expressions. Only word tokens survive, each becomes a quoted string, and the terms
are OR-ed so that bm25 ranks documents matching more of them first.
"""

from __future__ import annotations

import re

MAX_TERMS = 32
_TOKEN = re.compile(r"\w+", re.UNICODE)


class EmptyQueryError(ValueError):
    """The text holds no searchable word."""


def fts_expression(text: str) -> str:
    """``"term1" OR "term2" ...``; raises `EmptyQueryError` when no word is left."""
    terms: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        token = token.replace("_", " ").strip()
        if token and token not in terms:
            terms.append(token)
        if len(terms) >= MAX_TERMS:
            break
    if not terms:
        raise EmptyQueryError("the query has no searchable words")
    # A double quote inside a string is escaped by doubling; \w tokens hold none, but be exact.
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
