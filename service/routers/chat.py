"""``POST /v1/chat/completions`` and ``GET /v1/models``: the OpenAI-compatible face of the gateway.

Everything that can be refused without a provider is refused here, before any upstream call:
authentication, the body's shape (422), an unknown model (404) and an absurd ``max_tokens``
(400). The answer names the provider that served it in ``X-Provider``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from service.deps import ApiKey
from service.gateway.core import Gateway
from service.gateway.schemas import ChatRequest
from service.logs import current_context

router = APIRouter(prefix="/v1", tags=["chat"])

PROVIDER_HEADER = "X-Provider"
# Proxies must neither buffer nor cache an event stream, or tokens arrive in bursts.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def get_gateway(request: Request) -> Gateway:  # async: no thread-pool hop (see deps)
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "max_tokens above the gateway's cap, or refused by the provider"},
    401: {"description": "missing or invalid API key"},
    404: {"description": "unknown model (code model_not_found)"},
    422: {"description": "malformed body"},
    502: {"description": "the provider refused the request (gateway misconfiguration)"},
    503: {"description": "no provider of the model could serve it"},
}


@router.post(
    "/chat/completions",
    response_model=None,
    responses={
        200: {
            "description": "chat.completion, or with stream=true a text/event-stream of"
            " chat.completion.chunk events ending with data: [DONE]",
            "headers": {PROVIDER_HEADER: {"description": "the provider that served"}},
        },
        **_ERRORS,
    },
)
async def create_chat_completion(
    body: ChatRequest, principal: ApiKey, gateway: GatewayDep
) -> Response:
    """OpenAI chat completion, streamed (SSE) or not, served by the model's providers in order."""
    started = time.perf_counter()
    gateway.check(body)
    request_id = current_context().get("request_id")
    if body.stream:
        stream = await gateway.stream(body, request_id, started)
        return StreamingResponse(
            stream.body,
            media_type="text/event-stream",
            headers={PROVIDER_HEADER: stream.provider, **STREAM_HEADERS},
        )
    provider, data = await gateway.complete(body, request_id, started)
    return JSONResponse(data, headers={PROVIDER_HEADER: provider})


@router.get("/models")
async def list_models(principal: ApiKey, gateway: GatewayDep) -> dict[str, Any]:
    """The public model names clients may request (OpenAI's model list shape)."""
    return {
        "object": "list",
        "data": [
            {"id": model, "object": "model", "created": 0, "owned_by": "platform"}
            for model in sorted(gateway.routes)
        ],
    }
