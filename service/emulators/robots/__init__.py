"""An emulated repository/model site with a ``robots.txt``: what the page fetcher must obey.

``/robots.txt`` disallows ``/private/`` and ``/models/gated-`` for every agent; every path under
``/models/`` and ``/repos/`` (disallowed ones too) serves a model card or README page, so that a
fetcher that ignored the rules would succeed and show up in the request log, the ground truth of
``tos.robots``. ``/_emulator/faults`` makes it answer 429 with ``Retry-After`` or
``X-RateLimit-Remaining: 0`` (``tos.external-rate-limits``). ``/redirect?to=URL`` is an open
redirect, as real sites have them: an allowlisted site pointing the fetcher at loopback or the
metadata service is exactly the hop the egress policy must refuse (``opsec.egress``).
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from service.emulators.faults import Faults, fault_response, install_faults
from service.emulators.server import build_app
from service.emulators.state import EmulatorState, Fault

ROBOTS_TXT = """# robots.txt of the emulated model hub
User-agent: *
Disallow: /private/
Disallow: /models/gated-
Allow: /

User-agent: BadBot
Disallow: /
"""
DISALLOWED_PREFIXES = ("/private/", "/models/gated-")


def render_fault(fault: Fault) -> tuple[bytes, str]:
    return f"{fault.message}\n".encode(), "text/plain; charset=utf-8"


def page(path: str) -> str:
    """A model card / README as the site would render it: title, licence, some prose."""
    name = path.rstrip("/").rsplit("/", 1)[-1] or "index"
    title = name.replace("-", " ").title()
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<title>{escape(title)}</title><meta name="license" content="apache-2.0"></head>'
        f"<body><article><h1>{escape(title)}</h1><p>License: apache-2.0</p>"
        f"<p>{escape(title)} is a research artefact for retrieval and evaluation of language "
        "models. It documents its training data, intended use and limitations.</p>"
        "</article></body></html>"
    )


def create_app(state: EmulatorState) -> FastAPI:
    app = build_app(state, render_fault)
    app.state.faults = Faults()
    install_faults(app, app.state.faults)

    @app.get("/robots.txt")
    async def robots(request: Request) -> Response:
        faulty = await fault_response(request)
        return faulty if faulty is not None else PlainTextResponse(ROBOTS_TXT)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/redirect")
    async def redirect(request: Request, to: str = "") -> Response:
        faulty = await fault_response(request)
        if faulty is not None:
            return faulty
        if not to.startswith(("http://", "https://")):
            return PlainTextResponse("to must be an http(s) URL\n", status_code=400)
        return Response(status_code=302, headers={"Location": to})

    @app.get("/{path:path}")
    async def any_page(path: str, request: Request) -> Response:
        faulty = await fault_response(request)
        if faulty is not None:
            return faulty
        if not path.startswith(("models/", "repos/", "private/")):
            return PlainTextResponse("Not Found\n", status_code=404)
        return HTMLResponse(page(path))

    return app
