"""Ollama (native ``/api/chat``): translate the request, and its NDJSON answer into OpenAI's.

Streaming output follows what OpenAI clients expect from ``chat.completion.chunk`` events: a
role-only delta first, one delta per Ollama line, a final delta with ``finish_reason`` (from
``done_reason``), then the usage event (from ``prompt_eval_count`` / ``eval_count``) when the
client asked for it, then ``[DONE]``.
"""

from __future__ import annotations

import json
import time
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
    truncated,
)

# Ollama's done_reason -> OpenAI's finish_reason ("load" answers a prompt-less warm-up call).
FINISH = {"stop": "stop", "length": "length", "load": "stop"}
# OpenAI sampling parameters with the same meaning under Ollama's `options`.
SAME_OPTIONS = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")


def ollama_body(call: Call, stream: bool) -> dict[str, Any]:
    """The /api/chat request for an OpenAI chat request."""
    request = call.request
    options: dict[str, Any] = {}
    for name in SAME_OPTIONS:
        value = getattr(request, name)
        if value is not None:
            options[name] = value
    if request.token_cap is not None:
        options["num_predict"] = request.token_cap
    if request.stop is not None:
        options["stop"] = [request.stop] if isinstance(request.stop, str) else request.stop
    messages = [
        {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
        for m in request.messages
    ]
    body: dict[str, Any] = {"model": call.provider_model, "messages": messages, "stream": stream}
    if options:
        body["options"] = options
    return body


def _usage(line: dict[str, Any]) -> dict[str, int]:
    prompt = int(line.get("prompt_eval_count") or 0)
    completion = int(line.get("eval_count") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}  # fmt: skip


class OllamaAdapter(Adapter):
    probe_path = "/api/version"

    async def stream(self, call: Call) -> AsyncIterator[Chunk]:
        """OpenAI chunks from Ollama's lines; a continuation (``call.resume``) goes on under
        the broken stream's id, without a role chunk. Ollama writes one line per generated
        token, so the lines with text are the running token count until ``eval_count``."""
        resume = call.resume
        ident = resume.ident if resume else (call.completion_id, int(time.time()))
        head = (
            f'{{"id":{json.dumps(ident[0])},"object":"chat.completion.chunk",'
            f'"created":{ident[1]},"model":{json.dumps(call.public_model)},'
            '"system_fingerprint":null,"choices":'
        ).encode()

        def event(delta: dict[str, Any], finish: str | None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return b"data: " + head + json.dumps([choice]).encode() + b"}\n\n"

        count = 0
        with accounted(self.name) as account:
            async with self.client.stream(
                "POST", self.base_url + "/api/chat", json=ollama_body(call, True),
                headers=self.headers(call),
            ) as response:  # fmt: skip
                if response.status_code != 200:
                    raise status_error(response.status_code, await response.aread())
                async for raw in split_records(response, b"\n"):
                    line: dict[str, Any] = json.loads(raw)
                    if "error" in line:  # before the first byte: failover; after: the gateway's
                        raise UpstreamError(str(line["error"])[:200], retryable=True,
                                            outcome="http_error")  # fmt: skip
                    opening = not account.sent and resume is None
                    out = event({"role": "assistant", "content": ""}, None) if opening else b""
                    text = (line.get("message") or {}).get("content") or ""
                    if text:
                        count += 1
                        out += event({"content": text}, None)
                    prompt, done = None, bool(line.get("done"))
                    if done:
                        reason = FINISH.get(str(line.get("done_reason")), "stop")
                        out += event({}, reason)
                        usage = _usage(line)
                        prompt, count = usage["prompt_tokens"], usage["completion_tokens"]
                        if call.request.wants_usage:
                            shown = resume.usage(usage) if resume else usage
                            out += b"data: " + head + b'[],"usage":' + json.dumps(shown).encode()
                            out += b"}\n\n"
                        out += b"data: [DONE]\n\n"
                    first = not account.sent
                    account.sent = True
                    yield Chunk(out, text=text, prompt_tokens=prompt, completion_tokens=count,
                                finished=done, done=done,
                                ident=ident if first else None)  # fmt: skip
                    if done:
                        return
                raise truncated()

    async def complete(self, call: Call) -> tuple[dict[str, Any], int | None]:
        response = await self.post("/api/chat", ollama_body(call, False), call)
        line: dict[str, Any] = response.json()
        usage = _usage(line)
        message = line.get("message") or {}
        body = {
            "id": call.completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.public_model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": message.get("content", "")},
                    "logprobs": None,
                    "finish_reason": FINISH.get(str(line.get("done_reason")), "stop"),
                }
            ],
            "usage": usage,
        }
        return body, usage["completion_tokens"]
