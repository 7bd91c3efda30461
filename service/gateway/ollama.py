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
    merged,
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
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class _Translation:
    """Ollama's lines of one stream as OpenAI chunk events (a continuation, ``call.resume``,
    goes on under the broken stream's id and without a role chunk). Ollama writes one line per
    generated token, so the lines with text are the running token count until ``eval_count``."""

    def __init__(self, call: Call) -> None:
        self.call = call
        resume = call.resume
        self.ident = resume.ident if resume else (call.completion_id, int(time.time()))
        self.head = (
            f'{{"id":{json.dumps(self.ident[0])},"object":"chat.completion.chunk",'
            f'"created":{self.ident[1]},"model":{json.dumps(call.public_model)},'
            '"system_fingerprint":null,"choices":'
        ).encode()
        self.opened = resume is not None  # the client has had its role chunk
        self.count = 0

    def event(self, delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + self.head + json.dumps([choice]).encode() + b"}\n\n"

    def chunk(self, line: dict[str, Any]) -> Chunk:
        if "error" in line:  # before the first byte: failover; after it: the gateway decides
            raise UpstreamError(str(line["error"])[:200], retryable=True, outcome="http_error")
        out, ident = b"", None
        if not self.opened:
            self.opened, ident = True, self.ident
            out = self.event({"role": "assistant", "content": ""}, None)
        text = (line.get("message") or {}).get("content") or ""
        if text:
            self.count += 1
            out += self.event({"content": text}, None)
        prompt, done = None, bool(line.get("done"))
        if done:
            out += self.event({}, FINISH.get(str(line.get("done_reason")), "stop"))
            usage = _usage(line)
            prompt, self.count = usage["prompt_tokens"], usage["completion_tokens"]
            if self.call.request.wants_usage:
                resume = self.call.resume
                shown = resume.usage(usage) if resume else usage
                out += b"data: " + self.head + b'[],"usage":' + json.dumps(shown).encode()
                out += b"}\n\n"
            out += b"data: [DONE]\n\n"
        return Chunk(
            out,
            text=text,
            prompt_tokens=prompt,
            completion_tokens=self.count,
            finished=done,
            done=done,
            ident=ident,
        )


class OllamaAdapter(Adapter):
    probe_path = "/api/version"

    async def stream(self, call: Call) -> AsyncIterator[Chunk]:
        translation = _Translation(call)
        with accounted(self.name) as account:
            async with self.client.stream(
                "POST",
                self.base_url + "/api/chat",
                json=ollama_body(call, True),
                headers=self.headers(call),
            ) as response:
                if response.status_code != 200:
                    raise status_error(response.status_code, await response.aread())
                if call.commit_early:
                    yield Chunk(b"", accepted=True)
                async for lines in split_records(response, b"\n"):
                    chunk = merged([translation.chunk(json.loads(line)) for line in lines])
                    account.sent = True
                    yield chunk
                    if chunk.done:
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
