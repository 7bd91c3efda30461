"""An emulated arXiv API: ``GET /api/query`` answering Atom exactly as export.arxiv.org does.

Run it with ``python -m service.emulators.arxiv``. The corpus is a fixture of realistic entries
(authors, links, licence); ``--new-every-s`` adds a freshly "submitted" paper periodically so a
poller keeps finding work. Every request lands in the request log with its arrival time: the
ground truth of the 3-second cadence check. ``/_emulator/faults`` makes it answer 503 (or 429)
with ``Retry-After``, as arXiv does when it is overloaded.
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Request
from fastapi.responses import Response

from service.emulators.arxiv import corpus, feed
from service.emulators.faults import Faults, fault_response, install_faults
from service.emulators.server import build_app
from service.emulators.state import EmulatorState, Fault

MAX_RESULTS_CAP = 2000  # arXiv refuses larger pages (its documented per-call maximum)


def render_fault(fault: Fault) -> tuple[bytes, str]:
    return f"{fault.message}\n".encode(), "text/plain; charset=utf-8"


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return -1


def create_app(
    state: EmulatorState, *, papers: list[corpus.Paper] | None = None, new_every_s: float = 0.0
) -> FastAPI:
    base = papers if papers is not None else corpus.load()
    started = time.time()
    app = build_app(state, render_fault)
    app.state.faults = Faults()
    install_faults(app, app.state.faults)

    def current() -> list[corpus.Paper]:
        if new_every_s <= 0:
            return base
        fresh = int((time.time() - started) // new_every_s)
        return base + [corpus.fresh_paper(n) for n in range(1, fresh + 1)]

    @app.get("/api/query")
    async def query(request: Request) -> Response:
        faulty = await fault_response(request)
        if faulty is not None:
            return faulty
        q = request.query_params
        start, per_page = _int(q.get("start"), 0), _int(q.get("max_results"), 10)
        if start < 0 or not 0 <= per_page <= MAX_RESULTS_CAP:
            return Response(
                "Bad Request: start and max_results must be valid integers\n",
                status_code=400,
                media_type="text/plain",
            )
        ids = [i.strip() for i in q.get("id_list", "").split(",") if i.strip()]
        found = corpus.search(
            current(),
            q.get("search_query", ""),
            ids,
            q.get("sortBy", "relevance"),
            q.get("sortOrder", "descending"),
        )
        page = found[start : start + per_page]
        body = feed.feed(request.url.query, page, len(found), start, per_page)
        return Response(body, media_type=feed.ATOM_TYPE)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
