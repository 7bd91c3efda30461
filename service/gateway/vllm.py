"""vLLM (OpenAI-compatible server): forward the request, relay its SSE events as they arrive.

Events are re-framed one by one rather than re-serialised: the only changes are the model name
(the provider's name back to the public one) and dropping the usage event the client did not ask
for (the gateway always asks for it, to count tokens).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from service.gateway.upstream import (
    Adapter,
    Call,
    Chunk,
    UpstreamError,
    accounted,
    split_records,
    status_error,
)

DONE = b"[DONE]"


class VllmAdapter(Adapter):
    probe_path = "/health"

    def _model_swap(self, call: Call) -> tuple[bytes, bytes] | None:
        if call.provider_model == call.public_model:
            return None
        return (
            b'"model":' + json.dumps(call.provider_model).encode(),
            b'"model":' + json.dumps(call.public_model).encode(),
        )

    async def stream(self, call: Call) -> AsyncIterator[Chunk]:
        swap = self._model_swap(call)
        body = call.request.upstream_body(call.provider_model)
        url = self.base_url + "/v1/chat/completions"
        with accounted(self.name) as account:
            async with self.client.stream(
                "POST", url, json=body, headers=self.headers(call)
            ) as response:
                if response.status_code != 200:
                    raise status_error(response.status_code, await response.aread())
                async for event in split_records(response, b"\n\n"):
                    chunk = self._relay(event, call, swap, account.sent)
                    if chunk is None:
                        continue
                    account.sent = True
                    yield chunk

    def _relay(
        self, event: bytes, call: Call, swap: tuple[bytes, bytes] | None, sent: bool
    ) -> Chunk | None:
        payload = b"\n".join(
            line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:")
        )
        if not payload:
            return None  # comments and keep-alives
        if payload == DONE:
            return Chunk(b"data: [DONE]\n\n")
        data: Any = json.loads(payload)
        if "error" in data:
            if not sent:  # failed before anything reached the client: try elsewhere
                raise UpstreamError(str(data["error"])[:200], retryable=True, outcome="http_error")
            return Chunk(b"data: " + payload + b"\n\n")
        if swap is not None:
            payload = payload.replace(swap[0], swap[1], 1)
        choices = data.get("choices") or []
        usage = data.get("usage")
        tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        if not choices and usage is not None and not call.request.wants_usage:
            return Chunk(b"", completion_tokens=tokens)
        content = any((c.get("delta") or {}).get("content") for c in choices)
        return Chunk(b"data: " + payload + b"\n\n", content=content, completion_tokens=tokens)

    async def complete(self, call: Call) -> tuple[dict[str, Any], int | None]:
        body = call.request.upstream_body(call.provider_model)
        response = await self.post("/v1/chat/completions", body, call)
        data: dict[str, Any] = response.json()
        data["model"] = call.public_model
        usage = data.get("usage")
        return data, usage.get("completion_tokens") if isinstance(usage, dict) else None
