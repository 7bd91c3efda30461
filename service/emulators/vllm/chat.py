"""`POST /v1/chat/completions` as vLLM's OpenAI-compatible server answers it.

Field sets follow vLLM's pydantic models serialised the way vLLM does (chunks with
`exclude_unset`, the usage chunk also `exclude_none`), so clients and the platform's relay
see the bytes a real vLLM would send.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from service.emulators.batching.engine import RequestTooLarge
from service.emulators.generation import Plan, make_plan
from service.emulators.middleware import context_of
from service.emulators.state import EmulatorState, RequestContext
from service.emulators.tokens import Prompt, chat_prompt
from service.emulators.vllm.batching import BatchingDriver
from service.emulators.vllm.delivery import Delivery, start_delivery
from service.emulators.vllm.errors import ErrorFormat
from service.emulators.vllm.metrics import VllmMetrics

# vLLM's check_generation_prompt validator, and transformers' apply_chat_template refusal.
BOTH_FLAGS = "Cannot set both `continue_final_message` and `add_generation_prompt` to True."
TEMPLATE_CONFLICT = (
    "continue_final_message and add_generation_prompt are not compatible. Use "
    "continue_final_message when you want the model to continue the final message, and "
    "add_generation_prompt when you want to add a header that will prompt it to start a new "
    "assistant message instead."
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class ChatHandler:
    """Validates like vLLM, then answers with a paced stream or one JSON body."""

    def __init__(
        self,
        state: EmulatorState,
        served: list[str],
        max_model_len: int,
        errors: ErrorFormat,
        metrics: VllmMetrics,
        driver: BatchingDriver,
    ) -> None:
        self.state, self.served, self.max_model_len = state, served, max_model_len
        self.errors, self.metrics, self.driver = errors, metrics, driver

    async def __call__(self, request: Request) -> Response:
        context = context_of(request)
        try:
            body = await request.json()
        except ValueError as exc:
            return self.errors.response(f"JSON decode error: {exc}", 400)
        if not isinstance(body, dict):
            return self.errors.response("Input should be a valid dictionary", 400)
        # ChatCompletionRequest's model validator (before the handler, hence before the model
        # check) refuses the two flags set together; only explicitly sent values count there.
        if body.get("continue_final_message") and body.get("add_generation_prompt"):
            return self.errors.response(BOTH_FLAGS, 400)
        model = body.get("model") or self.served[0]
        context.model = str(model)
        if model not in self.served:
            return self.errors.response(f"The model `{model}` does not exist.", 404)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.errors.response("Field required: messages (a non-empty list)", 400)
        stream = body.get("stream") is True
        context.stream = stream
        options = body.get("stream_options")
        if options is not None and not stream:
            return self.errors.response(
                "Stream options can only be defined when `stream=True`.", 400
            )
        messages = [m for m in messages if isinstance(m, dict)]
        templated = self._template(body, messages, context)
        if isinstance(templated, Response):
            return templated
        prompt, role = templated
        prompt_tokens = prompt.tokens
        cap = body.get("max_completion_tokens", body.get("max_tokens"))
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            return self.errors.response(f"max_tokens must be at least 1, got {cap}.", 400)
        context.max_tokens = cap
        room = self.max_model_len - prompt_tokens
        if cap is not None and cap > room:
            return self.errors.response(
                f"This model's maximum context length is {self.max_model_len} tokens. However, "
                f"you requested {prompt_tokens + cap} tokens ({prompt_tokens} in the messages, "
                f"{cap} in the completion). Please reduce the length of the messages or "
                "completion.",
                400,
            )
        fault = self.state.injected_fault()
        if fault is not None:
            context.fault = fault.kind
            return self.errors.response(fault.message, fault.status)
        plan = make_plan(
            self.state.config,
            prompt,
            room if cap is None else cap,
            ignore_eos=body.get("ignore_eos") is True,
        )
        try:
            delivery = start_delivery(
                self.state, self.driver, plan, context, messages, request.receive
            )
        except RequestTooLarge as exc:
            return self.errors.response(str(exc), 400)
        request_id = f"chatcmpl-{request.headers.get('x-request-id') or uuid.uuid4().hex}"
        if stream:
            options = options if isinstance(options, dict) else {}
            return StreamingResponse(
                self._stream(plan, context, request_id, str(model), options, role, delivery),
                media_type="text/event-stream",
            )
        return await self._whole(plan, context, request_id, str(model), role, delivery)

    def _template(
        self, body: dict[str, Any], messages: list[dict[str, Any]], context: RequestContext
    ) -> tuple[Prompt, str] | Response:
        """The prompt after the chat template, and the role the answer is streamed under."""
        # add_generation_prompt defaults to true: continuing without switching it off fails in
        # the chat template (transformers), reported as vLLM reports preprocessing errors.
        add_generation_prompt = body.get("add_generation_prompt", True)
        continue_final = bool(body.get("continue_final_message"))
        if continue_final and add_generation_prompt:
            return self.errors.response(f"{TEMPLATE_CONFLICT} None", 400)
        prompt = chat_prompt(messages, continue_final=continue_final)
        context.prompt_tokens = prompt.tokens
        if continue_final:
            context.continued_tokens = prompt.offset
        # No generation prompt opens a new turn: vLLM answers under the final message's role.
        last_role = str(messages[-1].get("role", "assistant")) if messages else "assistant"
        return prompt, "assistant" if add_generation_prompt else last_role

    async def _whole(
        self,
        plan: Plan,
        context: RequestContext,
        request_id: str,
        model: str,
        role: str,
        delivery: Delivery,
    ) -> JSONResponse:
        self.state.running += 1
        try:
            if not await delivery.whole():  # the client left: vLLM aborts, nobody reads this
                context.disconnected = True
                return JSONResponse({}, status_code=499)
        finally:
            self.state.running -= 1
            delivery.close()
        n = len(plan.tokens)
        context.tokens, context.finish_reason = n, plan.finish_reason
        self._observe(plan, context, [])
        return JSONResponse(
            {
                "id": request_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": role,
                            "content": plan.text,
                            "refusal": None,
                            "annotations": None,
                            "audio": None,
                            "function_call": None,
                            "tool_calls": [],
                            "reasoning_content": None,
                        },
                        "logprobs": None,
                        "finish_reason": plan.finish_reason,
                        "stop_reason": None,
                    }
                ],
                "service_tier": None,
                "system_fingerprint": None,
                "usage": self._usage(plan.prompt_tokens, n) | {"prompt_tokens_details": None},
                "prompt_logprobs": None,
                "kv_transfer_params": None,
            }
        )

    async def _stream(
        self,
        plan: Plan,
        context: RequestContext,
        request_id: str,
        model: str,
        options: dict[str, Any],
        role: str,
        delivery: Delivery,
    ) -> AsyncIterator[bytes]:
        created = int(time.time())
        role_delta = f'{{"role":{_dumps(role)},"content":""}}'
        head = (
            f'{{"id":{_dumps(request_id)},"object":"chat.completion.chunk",'
            f'"created":{created},"model":{_dumps(model)},"choices":['
        )
        continuous = options.get("continuous_usage_stats") is True
        last = len(plan.chunks) - 1
        sent = 0
        self.state.running += 1
        try:
            async for k, text in delivery.chunks():
                out = b""
                if k == 0:  # vLLM opens with the role, at the first output (after prefill)
                    out = self._event(
                        head,
                        role_delta,
                        None,
                        plan.prompt_tokens,
                        0,
                        continuous,
                    )
                sent += plan.chunk_sizes[k]
                reason = plan.finish_reason if k == last else None
                out += self._event(
                    head,
                    f'{{"content":{_dumps(text)}}}',
                    reason,
                    plan.prompt_tokens,
                    sent,
                    continuous,
                )
                yield out
            if plan.error_after_chunks is not None and plan.close_mid_stream:
                context.fault = "mid_stream_close"
                return
            if plan.error_after_chunks is not None:
                context.fault = "mid_stream"
                yield self.errors.stream_event("Emulated error in the middle of a stream")
            else:
                context.finish_reason = plan.finish_reason
                if not plan.chunks:  # zero tokens: the role chunk and the finish together
                    yield self._event(
                        head,
                        role_delta,
                        plan.finish_reason,
                        plan.prompt_tokens,
                        0,
                        continuous,
                    )
                if options.get("include_usage") is True:
                    usage = _dumps(self._usage(plan.prompt_tokens, sent))
                    yield f'data: {head}],"usage":{usage}}}\n\n'.encode()
                self._observe(plan, context, _gaps(plan.sent_at))
            yield b"data: [DONE]\n\n"
        except (asyncio.CancelledError, GeneratorExit):
            context.disconnected = True
            raise
        finally:
            self.state.running -= 1
            delivery.close()

    def _event(
        self,
        head: str,
        delta: str,
        reason: str | None,
        prompt_tokens: int,
        sent: int,
        continuous: bool,
    ) -> bytes:
        choice = f'{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":'
        choice += "null}" if reason is None else f'{_dumps(reason)},"stop_reason":null}}'
        usage = f',"usage":{_dumps(self._usage(prompt_tokens, sent))}' if continuous else ""
        return f"data: {head}{choice}]{usage}}}\n\n".encode()

    @staticmethod
    def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
        return {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens,
        }

    def _observe(self, plan: Plan, context: RequestContext, gaps: list[float]) -> None:
        e2e = time.monotonic() - context.t0
        self.metrics.observe_finished(
            finish_reason=plan.finish_reason,
            prompt_tokens=plan.prompt_tokens,
            generation_tokens=context.tokens,
            ttft_s=context.ttft_s,
            gaps_s=gaps,
            e2e_s=e2e,
        )


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]
