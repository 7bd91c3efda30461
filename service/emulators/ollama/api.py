"""`POST /api/chat` and `POST /api/generate` as Ollama answers them (NDJSON by default).

Ollama is written in Go: field order follows its structs, `omitempty` fields vanish when zero,
durations are nanoseconds and timestamps RFC 3339 with nanoseconds; errors are `{"error": "..."}`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from service.emulators.disconnect import unless_disconnected
from service.emulators.generation import Plan, make_plan, paced_chunks, wait_whole
from service.emulators.middleware import context_of
from service.emulators.ollama.models import Catalogue, go_time
from service.emulators.ollama.slots import QueueFull, Slots, acquire_or_leave
from service.emulators.state import EmulatorState, RequestContext
from service.emulators.tokens import Prompt, chat_prompt, count_tokens

JSON_TYPE = "application/json; charset=utf-8"
NDJSON_TYPE = "application/x-ndjson"
# A piece of the reply: chat wraps text in a message, generate puts it in "response".
Shape = Callable[[str], dict[str, Any]]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def error(status: int, message: str) -> Response:
    return Response(dumps({"error": message}), status_code=status, media_type=JSON_TYPE)


class OllamaHandlers:
    """Both generation routes; they differ only in input parsing and the shape of a piece."""

    def __init__(self, state: EmulatorState, catalogue: Catalogue, slots: Slots) -> None:
        self.state, self.catalogue, self.slots = state, catalogue, slots

    async def chat(self, request: Request) -> Response:
        return await self._handle(request, chat=True)

    async def generate(self, request: Request) -> Response:
        return await self._handle(request, chat=False)

    async def _handle(self, request: Request, *, chat: bool) -> Response:
        context = context_of(request)
        raw = await request.body()
        if not raw:
            return error(400, "missing request body")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return error(400, str(exc))
        if not isinstance(body, dict):
            return error(400, "json: cannot unmarshal into Go value of type api.ChatRequest")
        model = body.get("model")
        if not model or not isinstance(model, str):
            return error(400, "model is required")
        context.model = model
        full = self.catalogue.find(model)
        if full is None:
            return error(404, f'model "{model}" not found, try pulling it first')
        if chat:
            messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
            # Ollama's templates open no new turn after a final assistant message (the legacy
            # ones are cut after .Response): the model continues that message.
            continued = bool(messages) and messages[-1].get("role") == "assistant"
            prompt = chat_prompt(messages, continue_final=continued)
            if continued:
                context.continued_tokens = prompt.offset
        else:
            text = f"{body.get('system') or ''}\n{body.get('prompt') or ''}".strip()
            prompt = Prompt(text, count_tokens(text))
        stream = body.get("stream") is not False
        context.stream = stream
        fault = self.state.injected_fault()
        if fault is not None:
            context.fault = fault.kind
            return error(fault.status, fault.message)
        self.catalogue.touch(full)
        shape: Shape = _message if chat else _response
        if not prompt.text:  # Ollama's "load the model" request: no prompt, one answer
            context.finish_reason = "load"
            return Response(dumps(_final(model, shape, "load", chat, {})), media_type=JSON_TYPE)
        options = body.get("options") if isinstance(body.get("options"), dict) else {}
        num_predict = options.get("num_predict") if options else None
        cap = num_predict if isinstance(num_predict, int) and num_predict >= 0 else None
        context.prompt_tokens, context.max_tokens = prompt.tokens, cap
        try:
            if not await acquire_or_leave(self.slots, request.receive):
                context.disconnected = True
                return error(499, "request canceled")  # what Ollama answers, to nobody
        except QueueFull as exc:
            context.fault = "queue_full"
            return error(503, str(exc))
        context.cleanups.append(self.slots.release)  # when the response is over, however
        context.started = time.monotonic()
        context.extra["queue_wait_ms"] = round((context.started - context.t0) * 1000, 3)
        plan = make_plan(self.state.config, prompt, cap)
        if stream:
            lines = self._stream(plan, context, model, shape, chat)
            return StreamingResponse(lines, media_type=NDJSON_TYPE)
        self.state.running += 1
        try:
            whole = wait_whole(plan, context, self.state.config)
            if not await unless_disconnected(whole, request.receive):  # Go cancels the request
                context.disconnected = True
                return error(499, "request canceled")
        finally:
            self.state.running -= 1
        context.tokens, context.finish_reason = len(plan.tokens), plan.finish_reason
        final = _final(model, shape, plan.finish_reason, chat, self._metrics(plan, context))
        final.update(shape(plan.text))
        return Response(dumps(final), media_type=JSON_TYPE)

    async def _stream(
        self, plan: Plan, context: RequestContext, model: str, shape: Shape, chat: bool
    ) -> AsyncIterator[bytes]:
        self.state.running += 1
        try:
            async for _, text in paced_chunks(plan, context, self.state.config):
                line = {"model": model, "created_at": go_time()} | shape(text) | {"done": False}
                yield dumps(line) + b"\n"
            if plan.error_after_chunks is not None:
                context.fault = "mid_stream_close" if plan.close_mid_stream else "mid_stream"
                if not plan.close_mid_stream:
                    error = {"error": "an error was encountered while running the model"}
                    yield dumps(error) + b"\n"
                return
            context.finish_reason = plan.finish_reason
            metrics = self._metrics(plan, context)
            yield dumps(_final(model, shape, plan.finish_reason, chat, metrics)) + b"\n"
        except (asyncio.CancelledError, GeneratorExit):
            context.disconnected = True
            raise
        finally:
            self.state.running -= 1

    def _metrics(self, plan: Plan, context: RequestContext) -> dict[str, Any]:
        """Ollama's timings in ns; zero values dropped as Go's omitempty does."""
        config = self.state.config
        now = time.monotonic()
        first = plan.sent_at[0] if plan.sent_at else context.origin + config.ttft_ms / 1000
        last = plan.sent_at[-1] if plan.sent_at else now
        prefill = max(first - context.origin, 0.0)
        # Waiting for a slot is scheduling, which Ollama counts into load_duration.
        waited = context.origin - context.t0
        metrics = {
            "total_duration": int((now - context.t0) * 1e9),
            "load_duration": int((waited + prefill * 0.05) * 1e9),  # warm model: a sliver
            "prompt_eval_count": plan.prompt_tokens,
            "prompt_eval_duration": int(prefill * 0.95 * 1e9),
            "eval_count": len(plan.tokens),
            "eval_duration": int((last - first + config.itl_ms / 1000) * 1e9),
        }
        return {k: v for k, v in metrics.items() if v}


def _message(text: str) -> dict[str, Any]:
    return {"message": {"role": "assistant", "content": text}}


def _response(text: str) -> dict[str, Any]:
    return {"response": text}


def _final(
    model: str, shape: Shape, reason: str, chat: bool, metrics: dict[str, Any]
) -> dict[str, Any]:
    """The closing object; ChatResponse puts done_reason before done, GenerateResponse after."""
    head = {"model": model, "created_at": go_time()} | shape("")
    if chat:
        return head | {"done_reason": reason, "done": True} | metrics
    context = list(range(1, metrics.get("prompt_eval_count", 0) + metrics.get("eval_count", 0) + 1))
    extra = {"context": context} if context else {}
    return head | {"done": True, "done_reason": reason} | extra | metrics
