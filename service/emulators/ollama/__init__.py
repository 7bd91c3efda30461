"""An emulated Ollama server: its native API (`/api/chat` NDJSON, `/api/tags`, ...).

Run it with `python -m service.emulators.ollama --model llama3.2`; `create_app()` builds the
same app in-process. Ollama has no Prometheus endpoint, so neither has this.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from service.emulators.ollama.api import JSON_TYPE, OllamaHandlers, dumps
from service.emulators.ollama.models import Catalogue
from service.emulators.ollama.slots import DEFAULT_MAX_QUEUE, DEFAULT_NUM_PARALLEL, Slots
from service.emulators.server import build_app
from service.emulators.state import EmulatorState, Fault

# The Ollama release whose wire format is emulated (reported by GET /api/version).
OLLAMA_VERSION = "0.12.6"


def render_fault(fault: Fault) -> tuple[bytes, str]:
    return dumps({"error": fault.message}), JSON_TYPE


def create_app(
    state: EmulatorState,
    *,
    models: list[str],
    num_parallel: int = DEFAULT_NUM_PARALLEL,
    max_queue: int = DEFAULT_MAX_QUEUE,
) -> FastAPI:
    """The app; `num_parallel` requests generate at once, `max_queue` more may wait."""
    catalogue = Catalogue(models)
    state.reset_hooks.append(catalogue.forget)
    app = build_app(state, render_fault)
    slots = Slots(num_parallel, max_queue)
    state.state_hooks.append(lambda: {"busy": slots.busy, "waiting": slots.waiting})
    handlers = OllamaHandlers(state, catalogue, slots)
    app.add_api_route("/api/chat", handlers.chat, methods=["POST"])
    app.add_api_route("/api/generate", handlers.generate, methods=["POST"])

    @app.api_route("/", methods=["GET", "HEAD"])
    async def root() -> PlainTextResponse:
        return PlainTextResponse("Ollama is running")

    @app.get("/api/version")
    async def version() -> Response:
        return Response(dumps({"version": OLLAMA_VERSION}), media_type=JSON_TYPE)

    @app.get("/api/tags")
    async def tags() -> Response:
        return Response(dumps(catalogue.tags()), media_type=JSON_TYPE)

    @app.get("/api/ps")
    async def ps() -> Response:
        return Response(dumps(catalogue.ps()), media_type=JSON_TYPE)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> PlainTextResponse:
        """Gin's answer to an unknown route (also to a wrong method: Ollama routes by both)."""
        return PlainTextResponse("404 page not found", status_code=404)

    @app.exception_handler(405)
    async def wrong_method(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse("404 page not found", status_code=404)

    return app
