"""vLLM (OpenAI-compatible server): forward the request, relay its SSE events as they arrive.

Events are re-framed one by one rather than re-serialised: the only changes are the model name
(the provider's name back to the public one), dropping the usage event the client did not ask
for (the gateway always asks for it, to count tokens) and cutting the running usage the gateway
asks for when streams may be resumed (``continuous_usage_stats``, so a stream breaking mid-way
knows how many tokens it emitted) unless the client asked for it too. A continuation of a stream
broken elsewhere (``call.resume``) is the exception: it asks vLLM to continue the partial
answer (``continue_final_message``) and its events are rewritten to the broken stream's id.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from service.gateway.upstream import (
    Adapter,
    Call,
    Chunk,
    Resume,
    UpstreamError,
    accounted,
    merged,
    split_records,
    status_error,
    truncated,
)

DONE = b"[DONE]"
USAGE_FIELD = b',"usage":'


class VllmAdapter(Adapter):
    probe_path = "/health"

    def _model_swap(self, call: Call) -> tuple[bytes, bytes] | None:
        if call.provider_model == call.public_model:
            return None
        return (
            b'"model":' + json.dumps(call.provider_model).encode(),
            b'"model":' + json.dumps(call.public_model).encode(),
        )

    def body(self, call: Call) -> dict[str, Any]:
        body = call.request.upstream_body(call.provider_model)
        if call.count_tokens and call.request.stream:
            body["stream_options"]["continuous_usage_stats"] = True
        if call.resume is not None and call.resume.text:
            # vLLM's documented extra parameters for continuing the final assistant message
            # (add_generation_prompt must be off with it); echo would repeat the partial text.
            body.pop("echo", None)
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        return body

    async def stream(self, call: Call) -> AsyncIterator[Chunk]:
        swap = self._model_swap(call)
        url = self.base_url + "/v1/chat/completions"
        with accounted(self.name) as account:
            async with self.client.stream(
                "POST", url, json=self.body(call), headers=self.headers(call)
            ) as response:
                if response.status_code != 200:
                    raise status_error(response.status_code, await response.aread())
                if call.commit_early:
                    yield Chunk(b"", accepted=True)
                async for events in split_records(response, b"\n\n"):
                    relayed = [self._relay(event, call, swap, account.sent) for event in events]
                    chunks = [chunk for chunk in relayed if chunk is not None]
                    if not chunks:
                        continue
                    chunk = merged(chunks)
                    account.sent = True
                    yield chunk
                    if chunk.done:
                        return
                raise truncated()

    def _relay(
        self, event: bytes, call: Call, swap: tuple[bytes, bytes] | None, sent: bool
    ) -> Chunk | None:
        payload = b"\n".join(
            line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:")
        )
        if not payload:
            return None  # comments and keep-alives
        if payload == DONE:
            return Chunk(b"data: [DONE]\n\n", done=True)
        data: Any = json.loads(payload)
        if "error" in data:  # before the first byte: failover; after it: the gateway decides
            raise UpstreamError(str(data["error"])[:200], retryable=True, outcome="http_error")
        choices = data.get("choices") or []
        usage = data.get("usage")
        prompt = completion = None
        if isinstance(usage, dict):
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        text = "".join((c.get("delta") or {}).get("content") or "" for c in choices)
        finished = any(c.get("finish_reason") for c in choices)
        ident = None if sent else (str(data.get("id")), int(data.get("created") or 0))
        if call.resume is not None:
            rewritten = _continued(data, call, call.resume)
            if rewritten is None:
                return None
            payload = rewritten
        elif not choices and usage is not None and not call.request.wants_usage:
            payload = b""
        else:
            if choices and usage is not None and not call.request.wants_continuous_usage:
                # vLLM serialises `usage` as the chunk's last field: cut it, keep the bytes.
                payload = payload[: payload.rfind(USAGE_FIELD)] + b"}"
            if swap is not None:
                payload = payload.replace(swap[0], swap[1], 1)
        return Chunk(
            b"data: " + payload + b"\n\n" if payload else b"",
            text=text,
            prompt_tokens=prompt,
            completion_tokens=completion,
            finished=finished,
            ident=ident,
        )

    async def complete(self, call: Call) -> tuple[dict[str, Any], int | None]:
        body = call.request.upstream_body(call.provider_model)
        response = await self.post("/v1/chat/completions", body, call)
        data: dict[str, Any] = response.json()
        data["model"] = call.public_model
        usage = data.get("usage")
        return data, usage.get("completion_tokens") if isinstance(usage, dict) else None


def _continued(data: dict[str, Any], call: Call, resume: Resume) -> bytes | None:
    """A continuation's event as the client's one stream goes on: the broken stream's id and
    created, the public model, no second role chunk, usage counting both parts. None: nothing
    to relay (the role chunk); b"": only counts (the usage event the client did not ask for)."""
    request = call.request
    choices = data.get("choices") or []
    for choice in choices:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            delta.pop("role", None)
    if choices and not any(_carries(c) for c in choices):
        return None  # the continuation's role chunk: the client has had one
    usage = data.get("usage")
    if isinstance(usage, dict):
        if not choices and not request.wants_usage:
            return b""
        if choices and not request.wants_continuous_usage:
            del data["usage"]
        else:
            data["usage"] = resume.usage(usage)
    data["id"], data["created"] = resume.ident
    data["model"] = call.public_model
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _carries(choice: dict[str, Any]) -> bool:
    """A choice with something for the client: text, a tool call, a finish reason."""
    delta = choice.get("delta") or {}
    return bool(choice.get("finish_reason") or delta.get("content") or delta.get("tool_calls"))
