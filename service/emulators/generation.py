"""What a request will produce (tokens, finish reason) and its paced delivery.

Both emulators share this so that "the same prompt gives the same tokens at the same pace"
holds across vLLM and Ollama and a failover check can compare them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from service.emulators import tokens as tok
from service.emulators.config import EmulatorConfig
from service.emulators.pacing import schedule, sleep_until
from service.emulators.state import RequestContext


@dataclass
class Plan:
    """The whole answer, decided up front so it is deterministic and loggable."""

    tokens: list[str]
    chunks: list[str]
    chunk_sizes: list[int]
    finish_reason: str  # "stop" | "length"
    prompt_tokens: int
    error_after_chunks: int | None = None  # emit an error instead of chunk k (mid-stream fault)
    close_mid_stream: bool = False  # ... or end the response there, without the end marker
    sent_at: list[float] = field(default_factory=list)  # time.monotonic() of each chunk written

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def make_plan(
    config: EmulatorConfig, prompt: tok.Prompt, cap: int | None, *, ignore_eos: bool = False
) -> Plan:
    """The model "wants" an answer of `output_tokens` (of which a continued final message
    already holds `prompt.offset`); a cap at or below what is left ends it with "length"."""
    natural = max(config.output_tokens - prompt.offset, 0)
    if cap is not None and (ignore_eos or cap <= natural):
        count, reason = cap, "length"
    else:
        count, reason = natural, "stop"
    words = tok.generate(prompt.text, count, config.seed, offset=prompt.offset)
    per = config.tokens_per_chunk
    chunks = tok.chunked(words, per)
    sizes = [min(per, count - i * per) for i in range(len(chunks))]
    error_after = None
    if config.error_mid_stream:
        error_after = min(len(chunks), -(-config.error_after_tokens // per))
    close = config.mid_stream_fault == "close"
    return Plan(words, chunks, sizes, reason, prompt.tokens, error_after, close_mid_stream=close)


def interval_s(config: EmulatorConfig) -> float:
    """Time between chunks: a chunk of k tokens takes k inter-token latencies to produce."""
    return config.itl_ms / 1000 * config.tokens_per_chunk


async def paced_chunks(
    plan: Plan,
    context: RequestContext,
    config: EmulatorConfig,
    ticks: AsyncIterator[int] | None = None,
) -> AsyncIterator[tuple[int, str]]:
    """Yield (index, text) on schedule; record TTFT and token counts once each is written.

    `ticks` yields each chunk index when it is due (default: `ttft_ms`, then one chunk per
    `interval_s`, from the request's origin). Code after `yield` runs when the consumer asks for
    the next chunk, i.e. after the server wrote this one: that is the moment TTFT is defined by.
    """
    count = len(plan.chunks) if plan.error_after_chunks is None else plan.error_after_chunks
    if ticks is None:
        ticks = schedule(count, context.origin, config.ttft_ms / 1000, interval_s(config))
    async for k in ticks:
        yield k, plan.chunks[k]
        now = time.monotonic()
        plan.sent_at.append(now)
        context.tokens += plan.chunk_sizes[k]
        if context.ttft_s is None:
            context.ttft_s = now - context.t0
    if plan.sent_at:  # the decode span as the server produced it: (tokens - 1) / (last - first)
        context.extra["last_token_ms"] = round((plan.sent_at[-1] - context.t0) * 1000, 3)


async def wait_whole(plan: Plan, context: RequestContext, config: EmulatorConfig) -> None:
    """A non-streaming answer is ready when its last token would have been generated."""
    last = max(len(plan.chunks) - 1, 0)
    await sleep_until(context.origin + config.ttft_ms / 1000 + last * interval_s(config))
