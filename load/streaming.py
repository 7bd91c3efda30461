"""One streaming chat measurement, shared by the Locust users and the pytest latency checks.

Two tools measuring TTFT differently would disagree in the release report, so both call
:func:`measure_stream` (sync httpx, also under gevent) or :func:`measure_stream_async`. The
definitions, and the pitfalls they avoid:

- The clock is ``time.perf_counter()`` read just before the request is handed to httpx, so
  building the body is not counted and nothing depends on wall-clock steps.
- TTFT ends at the first *non-empty content* delta: vLLM opens with a role-only chunk
  (``{"role": "assistant", "content": ""}``) that carries no token.
- ITL is the list of gaps between consecutive content deltas, kept raw.
- Output tokens come from the usage chunk (``stream_options.include_usage``). Providers batch
  several tokens per chunk, so counting deltas undercounts; when a target sends no usage the
  count of content deltas is the fallback and the result says ``tokens_source="fallback"``.
- Decode tokens/s excludes the first chunk's tokens and the prefill:
  ``(n - n_first) / (t_last - t_first)`` with ``n_first = n / deltas`` (one token per delta:
  exactly ``(n - 1) / (t_last - t_first)``). TPOT is its inverse. End-to-end tokens/s
  (``n / e2e``) is reported apart, since it mixes prefill into throughput.
- A 200 stream can still fail: ``data: {"error": ...}`` mid-stream, or no ``[DONE]``.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

CHAT_PATH = "/v1/chat/completions"
TokensSource = Literal["usage", "fallback"]


@dataclass
class StreamResult:
    """What one streaming request looked like from the client; times in milliseconds."""

    ok: bool
    status: int | None
    wall_start: float  # time.time() at send: orders samples across processes
    e2e_ms: float
    ttft_ms: float | None = None
    itl_ms: list[float] = field(default_factory=list)  # raw gaps between content deltas
    content_deltas: int = 0
    output_tokens: int = 0
    tokens_source: TokensSource = "fallback"
    prompt_tokens: int | None = None
    decode_tokens_per_s: float | None = None
    e2e_tokens_per_s: float | None = None
    tpot_ms: float | None = None
    finish_reason: str | None = None
    error: str | None = None
    provider: str | None = None  # the gateway's X-Provider header
    request_id: str | None = None  # the target's X-Request-ID, else the one sent
    bytes_received: int = 0
    content: str | None = None  # the answer's text, only when asked for (a session's history)

    def to_record(self) -> dict[str, Any]:
        """A JSON-lines record for the raw-sample files and the report.

        A shallow copy (the ITL list is shared): ``dataclasses.asdict`` deep-copies the
        200 gaps of a stream, 0.1 ms of CPU at every stream's end, when other users read.
        """
        return {"kind": "chat", **vars(self)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> StreamResult:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in record.items() if k in names})


def chat_body(model: str, max_tokens: int | None, prompt: str = "Hello") -> dict[str, Any]:
    """A streaming request that asks for the usage chunk."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


class StreamMeter:
    """Incremental SSE parser + timer: feed it bytes with the time they arrived.

    Client-independent, so any HTTP client (httpx here, geventhttpclient if ever needed) gives
    identical figures.
    """

    def __init__(self, start: float, wall_start: float, *, keep_content: bool = False) -> None:
        self.start, self.wall_start = start, wall_start
        self._content: list[str] | None = [] if keep_content else None
        self._buffer = b""
        self._stamps: list[float] = []
        self._usage: dict[str, Any] | None = None
        self._done = False
        self._error: str | None = None
        self._finish: str | None = None
        self._bytes = 0

    def feed(self, data: bytes, now: float) -> None:
        self._bytes += len(data)
        self._buffer += data.replace(b"\r\n", b"\n")
        while b"\n\n" in self._buffer:
            event, self._buffer = self._buffer.split(b"\n\n", 1)
            self._event(event, now)

    def _event(self, event: bytes, now: float) -> None:
        data = b"\n".join(
            line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")
        )
        if not data or self._error is not None:
            return
        if data.strip() == b"[DONE]":
            self._done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            self._error = f"undecodable event: {data[:200]!r}"
            return
        if not isinstance(chunk, dict):
            self._error = f"unexpected event: {data[:200]!r}"
            return
        if "error" in chunk:
            self._error = _error_text(chunk["error"])
            return
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):  # "" and None (role-only, finish-only) are not tokens
                self._stamps.append(now)
                if self._content is not None:
                    self._content.append(str(delta["content"]))
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]

    def result(self, status: int, end: float, error: str | None = None) -> StreamResult:
        """Close the measurement; ``error`` is a transport failure seen by the caller."""
        stamps = self._stamps
        if error is None:
            error = self._error
        if error is None and not self._done:
            error = "stream ended without [DONE]"
        usage = self._usage or {}
        counted = usage.get("completion_tokens")
        source: TokensSource = "usage" if isinstance(counted, int) else "fallback"
        n = counted if isinstance(counted, int) else len(stamps)
        result = StreamResult(
            ok=error is None and status == 200,
            status=status,
            wall_start=self.wall_start,
            e2e_ms=(end - self.start) * 1000,
            itl_ms=[(b - a) * 1000 for a, b in itertools.pairwise(stamps)],
            content_deltas=len(stamps),
            output_tokens=n,
            tokens_source=source,
            prompt_tokens=usage.get("prompt_tokens"),
            finish_reason=self._finish,
            error=error,
            bytes_received=self._bytes,
            content=None if self._content is None else "".join(self._content),
        )
        if stamps:
            result.ttft_ms = (stamps[0] - self.start) * 1000
            if end > self.start and n:
                result.e2e_tokens_per_s = n / (end - self.start)
        span = stamps[-1] - stamps[0] if stamps else 0.0
        decode_tokens = n - n / len(stamps) if stamps else 0.0
        if len(stamps) >= 2 and span > 0 and decode_tokens > 0:
            result.decode_tokens_per_s = decode_tokens / span
            result.tpot_ms = span * 1000 / decode_tokens
        return result


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)


def failed_answer(status: int, body: bytes) -> str:
    """The error text of a non-200 answer: the provider's message when it sent one."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"HTTP {status}: {body[:200]!r}"
    if isinstance(parsed, dict) and "error" in parsed:
        return f"HTTP {status}: {_error_text(parsed['error'])}"
    if isinstance(parsed, dict) and "message" in parsed:  # vLLM's flat error body
        return f"HTTP {status}: {parsed['message']}"
    return f"HTTP {status}: {body[:200]!r}"


def _finish(meter: StreamMeter, response: httpx.Response, end: float) -> StreamResult:
    result = meter.result(response.status_code, end)
    result.provider = response.headers.get("x-provider")
    result.request_id = response.headers.get("x-request-id")
    return result


def measure_stream(
    client: httpx.Client,
    body: dict[str, Any],
    *,
    path: str = CHAT_PATH,
    headers: dict[str, str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> StreamResult:
    """Send one streaming chat completion with ``client`` and measure it. Never raises for
    HTTP or transport failures: they become a result with ``ok=False``."""
    wall, start = time.time(), clock()
    meter = StreamMeter(start, wall)
    try:
        with client.stream("POST", path, json=body, headers=headers) as response:
            if response.status_code != 200:
                response.read()
                return meter.result(
                    response.status_code,
                    clock(),
                    failed_answer(response.status_code, response.content),
                )
            for data in response.iter_bytes():
                meter.feed(data, clock())
            return _finish(meter, response, clock())
    except httpx.HTTPError as exc:
        return meter.result(0, clock(), f"{type(exc).__name__}: {exc}")


async def measure_stream_async(
    client: httpx.AsyncClient,
    body: dict[str, Any],
    *,
    path: str = CHAT_PATH,
    headers: dict[str, str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    keep_content: bool = False,
) -> StreamResult:
    """The asyncio twin of :func:`measure_stream` (the pytest checks run streams this way);
    ``keep_content`` keeps the answer's text (a multi-turn session sends it back)."""
    wall, start = time.time(), clock()
    meter = StreamMeter(start, wall, keep_content=keep_content)
    try:
        async with client.stream("POST", path, json=body, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                return meter.result(
                    response.status_code,
                    clock(),
                    failed_answer(response.status_code, response.content),
                )
            async for data in response.aiter_bytes():
                meter.feed(data, clock())
            return _finish(meter, response, clock())
    except httpx.HTTPError as exc:
        return meter.result(0, clock(), f"{type(exc).__name__}: {exc}")
