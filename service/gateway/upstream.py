"""What every provider adapter shares: the call description, errors, chunks and accounting.

An adapter turns one chat request into one upstream HTTP call and hands back OpenAI-shaped
output. It raises `UpstreamError` before its first chunk when the provider failed; whether the
gateway may try again (`retryable`) is decided here, from the wire, in one place.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from service.gateway.config import ProviderSettings
from service.gateway.metrics import UPSTREAM_LATENCY
from service.gateway.schemas import ChatRequest
from service.outbound.metrics import count_outbound

REQUEST_ID_HEADER = "X-Request-ID"


class UpstreamError(Exception):
    """The provider failed this call. `retryable`: connect errors, timeouts, 5xx and 429 may
    succeed elsewhere or later; any other 4xx is the request's fault and is passed on."""

    def __init__(
        self, message: str, *, retryable: bool, status: int | None = None, outcome: str = "error"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.outcome = outcome


@dataclass(slots=True)
class Resume:
    """A stream that broke after `text` reached the client, continued on another provider.

    The continuation is relayed under the broken stream's `ident` (chunk id, created) so the
    client reads one stream, without a second role chunk, and its usage event counts both
    parts: the tokens before the break (`prompt_tokens`, `completion_tokens` as far as the
    broken provider reported them) are added to what the continuation reports.
    """

    text: str
    ident: tuple[str, int]
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def usage(self, usage: dict[str, Any]) -> dict[str, Any]:
        """A usage object of the continuation, with the tokens before the break added."""
        prompt = int(usage.get("prompt_tokens") or 0) + self.prompt_tokens
        completion = int(usage.get("completion_tokens") or 0) + self.completion_tokens
        return {
            **usage,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }


@dataclass(slots=True)
class Call:
    """One request routed to one provider (`resume`: continuing a stream broken elsewhere)."""

    request: ChatRequest
    provider_model: str
    public_model: str
    request_id: str | None
    completion_id: str
    resume: Resume | None = None
    # Ask the provider for its running token count (vLLM continuous_usage_stats), so that a
    # stream breaking mid-way knows how much it emitted.
    count_tokens: bool = False
    # Hand on an `accepted` chunk as soon as the provider answered 200, so the client's
    # response starts then (a break before the first event is resumed like any other).
    commit_early: bool = False


@dataclass(slots=True)
class Chunk:
    """Bytes for the client (framed SSE, possibly several events) and what they carried.

    Token counts are this provider's own, so far (or final with the usage event); `finished`:
    a finish_reason was in it; `done`: it ended the stream (``[DONE]``); `ident`: the chunk id
    and created time the client sees, on the first chunk with an event.
    """

    data: bytes
    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finished: bool = False
    done: bool = False
    ident: tuple[str, int] | None = None
    accepted: bool = False  # only "the provider answered 200": nothing to relay yet


@dataclass
class Accounting:
    """Counts one upstream call exactly once (outbound counter and latency histogram)."""

    provider: str
    started: float = field(default_factory=time.perf_counter)
    done: bool = False
    sent: bool = False  # bytes reached the client: a later failure can no longer fail over

    def finish(self, outcome: str) -> None:
        if self.done:
            return
        self.done = True
        count_outbound(self.provider, outcome)
        UPSTREAM_LATENCY.labels(provider=self.provider, outcome=outcome).observe(
            time.perf_counter() - self.started
        )


@contextlib.contextmanager
def accounted(provider: str) -> Iterator[Accounting]:
    """One upstream call, its outcome counted once whatever ends it.

    Transport failures become a retryable `UpstreamError` while nothing reached the client
    (``account.sent`` false); after that they propagate as they are, because a half-sent answer
    cannot be retried elsewhere. A call abandoned by its consumer counts as "cancelled".
    """
    account = Accounting(provider)
    try:
        yield account
        account.finish("ok")
    except httpx.TransportError as exc:
        error = transport_error(exc)
        account.finish(error.outcome)
        if account.sent:
            raise
        raise error from exc
    except UpstreamError as exc:
        account.finish(exc.outcome)
        raise
    except BaseException:
        account.finish("cancelled")
        raise


def transport_error(exc: httpx.TransportError) -> UpstreamError:
    """Any transport failure is retryable: nothing reached the client yet when it is raised."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        outcome = "connect_error"
    elif isinstance(exc, httpx.TimeoutException):
        outcome = "timeout"
    else:
        outcome = "transport_error"
    return UpstreamError(f"{type(exc).__name__}: {exc}"[:200], retryable=True, outcome=outcome)


def truncated() -> UpstreamError:
    """The provider's stream ended (connection closed cleanly) before its end marker."""
    return UpstreamError("stream ended before it was complete", retryable=True, outcome="truncated")


def status_error(status: int, body: bytes) -> UpstreamError:
    """An HTTP error answer; the provider's message is kept for 4xx (the client's mistake)."""
    return UpstreamError(
        _message_of(body) or f"provider answered HTTP {status}",
        retryable=status >= 500 or status == 429,
        status=status,
        outcome="http_error",
    )


def _message_of(body: bytes) -> str | None:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:200] or None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "")[:200] or None
    if isinstance(error, str):
        return error[:200]
    message = data.get("message") if isinstance(data, dict) else None
    return str(message)[:200] if message else None


class Adapter:
    """Base of the provider adapters: connection pool, headers, probe."""

    probe_path = "/health"

    def __init__(self, name: str, settings: ProviderSettings, client: httpx.AsyncClient) -> None:
        self.name = name
        self.settings = settings
        self.client = client
        self.base_url = settings.base_url

    def headers(self, call: Call) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if call.request_id:
            headers[REQUEST_ID_HEADER] = call.request_id
        if self.settings.api_key is not None:
            headers["Authorization"] = f"Bearer {self.settings.api_key.get_secret_value()}"
        return headers

    async def post(self, path: str, body: dict[str, Any], call: Call) -> httpx.Response:
        """One non-streamed call: a 200 answer, or the failure as an `UpstreamError`."""
        with accounted(self.name):
            response = await self.client.post(
                self.base_url + path, json=body, headers=self.headers(call)
            )
            if response.status_code != 200:
                raise status_error(response.status_code, response.content)
            return response

    async def probe(self, timeout: float) -> None:
        """Raise unless the provider's own health route answers 200."""
        response = await self.client.get(self.base_url + self.probe_path, timeout=timeout)
        if response.status_code != 200:
            raise UpstreamError(f"probe HTTP {response.status_code}", retryable=True)

    def stream(self, call: Call) -> AsyncIterator[Chunk]:
        raise NotImplementedError

    async def complete(self, call: Call) -> tuple[dict[str, Any], int | None]:
        raise NotImplementedError


async def split_records(response: httpx.Response, separator: bytes) -> AsyncIterator[list[bytes]]:
    """The complete records (SSE events, NDJSON lines) of each read, as soon as it arrives.

    Records that arrived together are handed on together, so they reach the client in one
    write rather than one per record (e.g. vLLM's role chunk and first token): no waiting is
    added, and the per-write cost of the ASGI stack is paid once.
    """
    buffer = b""
    async for piece in response.aiter_bytes():
        buffer += piece
        *complete, buffer = buffer.split(separator)
        records = [record for record in complete if record.strip()]
        if records:
            yield records
    if buffer.strip():
        yield [buffer]


def merged(chunks: list[Chunk]) -> Chunk:
    """Chunks that go out together as one: bytes and text joined, the latest counts."""
    if len(chunks) == 1:
        return chunks[0]
    out = Chunk(b"".join(c.data for c in chunks), "".join(c.text for c in chunks))
    for chunk in chunks:
        if chunk.prompt_tokens is not None:
            out.prompt_tokens = chunk.prompt_tokens
        if chunk.completion_tokens is not None:
            out.completion_tokens = chunk.completion_tokens
        out.finished = out.finished or chunk.finished
        out.done = out.done or chunk.done
        out.ident = out.ident or chunk.ident
    return out
