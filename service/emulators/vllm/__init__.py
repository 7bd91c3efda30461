"""An emulated vLLM OpenAI-compatible server (`vllm serve`), routes and bodies as vLLM's.

Run it with `python -m service.emulators.vllm --model NAME`; `create_app()` builds the same
app in-process.
"""

from __future__ import annotations

import time
import uuid

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from service.emulators.server import build_app
from service.emulators.state import EmulatorState
from service.emulators.vllm.batching import BatchingDriver
from service.emulators.vllm.chat import ChatHandler
from service.emulators.vllm.errors import ErrorFormat
from service.emulators.vllm.metrics import VllmMetrics

# The vLLM release whose wire format is emulated (reported by GET /version).
VLLM_VERSION = "0.10.1.1"


def create_app(
    state: EmulatorState,
    *,
    model: str,
    served_model_names: list[str] | None = None,
    max_model_len: int = 8192,
    nested_errors: bool = False,
    request_id_headers: bool = False,
) -> FastAPI:
    """The app; `served_model_names` default to `[model]` exactly as in vLLM."""
    served = served_model_names or [model]
    errors = ErrorFormat(nested_errors)
    metrics = VllmMetrics(served[0])
    state.reset_hooks.append(metrics.rebuild)
    app = build_app(state, errors.render_fault)
    created = int(time.time())
    driver = BatchingDriver(state, metrics)
    metrics.load_source = driver.load
    state.state_hooks.append(driver.describe)
    chat = ChatHandler(state, served, max_model_len, errors, metrics, driver)
    app.add_api_route("/v1/chat/completions", chat, methods=["POST"])

    @app.get("/v1/models")
    async def list_models() -> JSONResponse:
        cards = [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": "vllm",
                "root": model,
                "parent": None,
                "max_model_len": max_model_len,
                "permission": [
                    {
                        "id": f"modelperm-{uuid.uuid4().hex}",
                        "object": "model_permission",
                        "created": created,
                        "allow_create_engine": False,
                        "allow_sampling": True,
                        "allow_logprobs": True,
                        "allow_search_indices": False,
                        "allow_view": True,
                        "allow_fine_tuning": False,
                        "organization": "*",
                        "group": None,
                        "is_blocking": False,
                    }
                ],
            }
            for name in served
        ]
        return JSONResponse({"object": "list", "data": cards})

    @app.get("/health")
    async def health() -> Response:
        return Response(status_code=200)

    @app.get("/version")
    async def version() -> JSONResponse:
        return JSONResponse({"version": VLLM_VERSION})

    @app.get("/metrics")
    async def read_metrics() -> Response:
        return Response(
            metrics.render(state), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    if request_id_headers:  # vLLM's --enable-request-id-headers

        @app.middleware("http")
        async def echo_request_id(request, call_next):  # type: ignore[no-untyped-def]  # starlette's decorator is untyped
            response = await call_next(request)
            response.headers["X-Request-Id"] = request.headers.get("x-request-id", uuid.uuid4().hex)
            return response

    return app
