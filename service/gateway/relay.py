"""The client's side of a committed stream: relay it, and resume it elsewhere when it breaks.

Once the first event went out (status 200, ``X-Provider``), a failing provider can no longer be
swapped by failover. What can still be done is to continue the answer: the route's next provider
gets the request with the partial answer as a final assistant message (vLLM
``continue_final_message``, Ollama continues a final assistant message by itself) and at most
the tokens still allowed, and its events are relayed under the broken stream's id so the client
reads one stream. The continuing model may differ from the one that began; for a release gate's
research platform a complete answer from the route's fallback beats a broken one (the route
already says that model is an acceptable substitute), and the seam stays visible in
``platform_llm_stream_resumes_total``, a WARNING record naming both providers, and the
``providers`` field of the request's access-log record (``X-Provider`` was sent before the
break and names the first).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from service.errors import ApiError
from service.gateway.metrics import OUTPUT_TOKENS, STREAM_RESUMES, TTFT
from service.gateway.schemas import ChatRequest
from service.gateway.upstream import Chunk, Resume, UpstreamError, truncated
from service.logs import update_context

if TYPE_CHECKING:
    from service.gateway.core import Gateway

logger = logging.getLogger("platform.gateway")

# How a stream breaks: the connection (reset, timeout), an error event or a truncated stream
# (UpstreamError), a malformed event (ValueError from JSON decoding).
BREAKS = (httpx.TransportError, UpstreamError, ValueError)


@dataclass
class Leg:
    """One provider's part of the stream, with its own token counts."""

    provider: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    done: bool = False
    waiting: bool = False  # accepted, no event yet


class Relay:
    """Relays one streamed request; resumes it on the route's next provider when it breaks."""

    def __init__(
        self, gateway: Gateway, request: ChatRequest, request_id: str | None, started: float
    ) -> None:
        self.gateway, self.request, self.request_id = gateway, request, request_id
        self.started = started
        self.text: list[str] = []
        self.prompt_tokens = self.completion_tokens = 0  # of the legs that ended
        self.ident: tuple[str, int] | None = None
        self.finished = False
        self.seen_content = False
        self.broken: set[str] = set()
        self.providers: list[str] = []

    async def events(
        self, provider: str, chunks: AsyncIterator[Chunk], first: Chunk
    ) -> AsyncIterator[bytes]:
        """The client's bytes; a client that goes away closes the upstream call (finally)."""
        chunk: Chunk | None = first
        leg = Leg(provider)
        self.providers.append(provider)
        try:
            while True:
                try:
                    while chunk is not None:
                        self._note(leg, chunk)
                        if chunk.data:
                            yield chunk.data
                        chunk = await self._next(chunks, leg)
                    if not leg.done:  # an adapter ended without the end marker
                        raise truncated()
                    return
                except BREAKS as exc:
                    await _close(chunks)
                    self._settle(leg)
                    failure = f"{type(exc).__name__}: {exc}"[:200]
                    self.gateway.states[leg.provider].failed(
                        failure, self.gateway.tuning.cooldown_s
                    )
                    if self.finished or self._left() == 0:
                        yield self._closing()
                        return
                    resumed = await self._resume(leg.provider, failure)
                    if resumed is None:
                        yield stream_error(
                            f"provider {leg.provider} failed mid-stream: {type(exc).__name__}"
                        )
                        return
                    leg = Leg(resumed[0])
                    chunks, chunk = resumed[1], resumed[2]
        finally:
            await _close(chunks)
            self._settle(leg)

    async def _next(self, chunks: AsyncIterator[Chunk], leg: Leg) -> Chunk | None:
        """The next chunk; the first event after the provider accepted the request must come
        within ``first_byte_timeout_s`` (as before the commit), else the stream broke."""
        if not leg.waiting:
            return await anext(chunks, None)
        try:
            async with asyncio.timeout(self.gateway.tuning.first_byte_timeout_s):
                return await anext(chunks, None)
        except TimeoutError as exc:
            raise UpstreamError("no first byte in time", retryable=True) from exc

    def _note(self, leg: Leg, chunk: Chunk) -> None:
        leg.waiting = chunk.accepted
        if self.ident is None and chunk.ident is not None:
            self.ident = chunk.ident
        if chunk.text:
            if not self.seen_content:
                self.seen_content = True
                TTFT.labels(provider=leg.provider, model=self.request.model).observe(
                    time.perf_counter() - self.started
                )
            self.text.append(chunk.text)
        if chunk.prompt_tokens is not None:
            leg.prompt_tokens = chunk.prompt_tokens
        if chunk.completion_tokens is not None:
            leg.completion_tokens = chunk.completion_tokens
        self.finished = self.finished or chunk.finished
        leg.done = leg.done or chunk.done

    def _settle(self, leg: Leg) -> None:
        """Count a leg's tokens once, for its provider."""
        if leg.completion_tokens:
            OUTPUT_TOKENS.labels(provider=leg.provider, model=self.request.model).inc(
                leg.completion_tokens
            )
        self.prompt_tokens += leg.prompt_tokens
        self.completion_tokens += leg.completion_tokens
        leg.prompt_tokens = leg.completion_tokens = 0

    def _left(self) -> int | None:
        """Tokens the client still allows (None: no cap)."""
        cap = self.request.token_cap
        return None if cap is None else max(cap - self.completion_tokens, 0)

    async def _resume(
        self, provider: str, failure: str
    ) -> tuple[str, AsyncIterator[Chunk], Chunk] | None:
        """The continuation on the next provider, or None (off, exhausted, nobody could)."""
        tuning = self.gateway.tuning
        self.broken.add(provider)
        resumes = len(self.providers) - 1
        if not (tuning.resume_streams and self.request.resumable) or resumes >= tuning.max_resumes:
            logger.warning("stream of %s broke, not resumed: %s", provider, failure)
            return None
        text = "".join(self.text)
        resume = Resume(text, self._ident(), self.prompt_tokens, self.completion_tokens)
        request = self.request.continued(text, self._left())
        try:
            async with asyncio.timeout(tuning.resume_timeout_s):
                resumed = await self.gateway.open_stream(
                    request, self.request_id, exclude=self.broken, resume=resume
                )
        except (ApiError, TimeoutError) as exc:
            reason = exc.message if isinstance(exc, ApiError) else "timed out"
            logger.warning("stream of %s broke, resuming failed: %s; %s", provider, failure, reason)
            return None
        to = resumed[0]
        self.providers.append(to)
        STREAM_RESUMES.labels(from_provider=provider, to_provider=to).inc()
        update_context(providers=list(self.providers))
        logger.warning(
            "stream of %s broke after %d tokens, resumed on %s: %s",
            provider,
            self.completion_tokens,
            to,
            failure,
            extra={
                "from_provider": provider,
                "to_provider": to,
                "resumed_after_tokens": self.completion_tokens,
            },
        )
        return resumed

    def _ident(self) -> tuple[str, int]:
        if self.ident is None:  # no event carried one: the gateway's own id for the request
            self.ident = (f"chatcmpl-{self.request_id or 'resumed'}", int(time.time()))
        return self.ident

    def _closing(self) -> bytes:
        """The end of a stream whose content is complete but whose provider broke before its
        end marker: the finish (length, when the cap was reached), usage if asked, [DONE]."""
        ident = self._ident()
        head = {
            "id": ident[0],
            "object": "chat.completion.chunk",
            "created": ident[1],
            "model": self.request.model,
        }
        out = b""
        if not self.finished:
            choice = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"}
            out += _event({**head, "choices": [choice]})
        if self.request.wants_usage:
            usage = {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
            }
            out += _event({**head, "choices": [], "usage": usage})
        return out + b"data: [DONE]\n\n"


def _event(data: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def stream_error(message: str) -> bytes:
    """An error event after the stream began: OpenAI's clients raise on it."""
    error = {"error": {"message": message, "type": "server_error", "code": "upstream_error"}}
    return b"data: " + json.dumps(error).encode() + b"\n\n"


async def _close(chunks: AsyncIterator[Chunk]) -> None:
    with contextlib.suppress(Exception):
        await chunks.aclose()  # type: ignore[attr-defined]  # an async generator
