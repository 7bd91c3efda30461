"""`GET /search`: ranked documents with attribution (source, link, authors, licence).

The query text is reduced to word terms before it reaches FTS5 (`service.documents.query`), so
search syntax in user input is inert; a query without words, or longer than
``search_max_query_chars``, is a 422. Snippets are bounded whatever the licence.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from service.deps import ApiKey, SettingsDep
from service.documents.deps import StoreDep
from service.documents.models import Source
from service.documents.query import EmptyQueryError
from service.errors import ApiError

router = APIRouter(tags=["search"])

MAX_LIMIT = 50
MAX_OFFSET = 1_000
HARD_MAX_QUERY = 4_096


class SearchResult(BaseModel):
    id: str
    source: str
    title: str
    link: str
    authors: list[str]
    licence: str
    licence_class: str
    snippet: str
    score: float


class SearchPublic(BaseModel):
    query: str
    total: int
    limit: int
    offset: int
    results: list[SearchResult]


@router.get("/search")
def read_search(
    settings: SettingsDep,
    store: StoreDep,
    _principal: ApiKey,
    q: Annotated[str, Query(min_length=1, max_length=HARD_MAX_QUERY)],
    source: Source | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> SearchPublic:
    if len(q) > settings.search_max_query_chars:
        raise ApiError(
            422,
            "invalid_request_error",
            f"q: at most {settings.search_max_query_chars} characters",
            code="string_too_long",
            param="q",
        )
    try:
        page = store.search(q, source=source, limit=limit, offset=offset)
    except EmptyQueryError as exc:
        raise ApiError(
            422, "invalid_request_error", f"q: {exc}", code="empty_query", param="q"
        ) from exc
    results = [SearchResult.model_validate(hit, from_attributes=True) for hit in page.hits]
    return SearchPublic(query=q, total=page.total, limit=limit, offset=offset, results=results)
