"""The gateway: route a chat request to its providers in order, retry, fail over, relay.

Retries and failover happen only before the answer is committed (status 200, ``X-Provider``):
a resumable stream commits when its provider accepts the request, any other stream with the
provider's first event. After that the stream is relayed by `relay.Relay`, which continues it on
the route's next provider if it breaks, before its first event or mid-way.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from service.errors import ApiError, error_type
from service.gateway.config import GatewaySettings, ProviderSettings, resolve_routes
from service.gateway.metrics import FAILOVERS, OUTPUT_TOKENS, TTFT
from service.gateway.ollama import OllamaAdapter
from service.gateway.relay import Relay
from service.gateway.schemas import ChatRequest
from service.gateway.state import Prober, ProviderState
from service.gateway.upstream import Adapter, Call, Chunk, Resume, UpstreamError
from service.gateway.vllm import VllmAdapter

T = TypeVar("T")
# Upstream 4xx that are the request's fault (the client can fix them) keep their status;
# any other refusal (401, 403, 404) is the gateway's misconfiguration: 502.
CLIENT_FAULTS = frozenset({400, 413, 422})


@dataclass
class Stream:
    """A committed streamed answer: who serves it and the bytes to relay."""

    provider: str
    body: AsyncIterator[bytes]


class Gateway:
    """Providers, their state and the routing table of one API process."""

    def __init__(
        self,
        providers: dict[str, ProviderSettings],
        routes: dict[str, list[str]],
        tuning: GatewaySettings,
    ) -> None:
        self.tuning = tuning
        self.providers = providers
        self.routes = resolve_routes(providers, routes)
        self.states = {
            name: ProviderState(name, p.kind, dict(p.models)) for name, p in providers.items()
        }
        self.client: httpx.AsyncClient | None = None
        self.adapters: dict[str, Adapter] = {}
        self.prober: Prober | None = None

    async def start(self) -> None:
        timeout = httpx.Timeout(
            connect=self.tuning.connect_timeout_s,
            read=self.tuning.read_timeout_s,
            write=self.tuning.read_timeout_s,
            pool=self.tuning.connect_timeout_s,
        )
        limits = httpx.Limits(
            max_connections=self.tuning.max_connections,
            max_keepalive_connections=self.tuning.max_connections,
        )
        self.client = httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)
        kinds: dict[str, type[Adapter]] = {"vllm": VllmAdapter, "ollama": OllamaAdapter}
        self.adapters = {
            name: kinds[p.kind](name, p, self.client) for name, p in self.providers.items()
        }
        probe_timeout = self.tuning.probe_timeout_s
        self.prober = Prober(
            {
                name: (self.states[name], _probe_of(adapter, probe_timeout))
                for name, adapter in self.adapters.items()
            },
            self.tuning.probe_interval_s,
        )
        self.prober.start()

    async def aclose(self) -> None:
        if self.prober is not None:
            await self.prober.stop()
        if self.client is not None:
            await self.client.aclose()

    # --- routing ---------------------------------------------------------------------------

    def order(self, model: str) -> list[str]:
        """Providers to try: available ones in route order, then the others as a last resort."""
        route = self.routes.get(model)
        if route is None:
            raise ApiError(
                404,
                "not_found_error",
                f"The model `{model}` does not exist.",
                code="model_not_found",
                param="model",
            )
        up = [name for name in route if self.states[name].available]
        return up + [name for name in route if name not in up]

    def check(self, request: ChatRequest) -> None:
        """Refusals that need no provider: unknown model, absurd token cap."""
        self.order(request.model)
        cap = request.token_cap
        if cap is not None and cap > self.tuning.max_tokens_cap:
            raise ApiError(
                400,
                "invalid_request_error",
                f"max_tokens {cap} exceeds this gateway's limit of {self.tuning.max_tokens_cap}",
                code="max_tokens_too_large",
                param="max_tokens",
            )

    async def _failover(
        self,
        request: ChatRequest,
        request_id: str | None,
        attempt: Callable[[str, Call], Awaitable[T]],
        *,
        exclude: Collection[str] = (),
        resume: Resume | None = None,
    ) -> tuple[str, T]:
        order = [name for name in self.order(request.model) if name not in exclude]
        completion_id = f"chatcmpl-{request_id or uuid.uuid4().hex}"
        # A stream that can be resumed counts its tokens (to continue where it broke) and is
        # committed when the provider accepts it: a failure before its first event is then
        # resumed too, and the response head reaches the client while the provider computes,
        # not with the first token. A continuation commits nothing (the stream already is).
        resumable = request.stream and self.tuning.resume_streams and request.resumable
        last: UpstreamError | None = None
        for position, name in enumerate(order):
            state = self.states[name]
            call = Call(
                request,
                state.models[request.model],
                request.model,
                request_id,
                completion_id,
                resume,
                resumable,
                resumable and resume is None,
            )
            for retry in range(self.tuning.retries + 1):
                if retry:
                    await asyncio.sleep(self.tuning.retry_backoff_s * 2 ** (retry - 1))
                try:
                    result = await attempt(name, call)
                except UpstreamError as exc:
                    if not exc.retryable:
                        raise _client_error(name, exc) from exc
                    last = exc
                    continue
                state.succeeded()
                return name, result
            assert last is not None
            state.failed(last.message, self.tuning.cooldown_s)
            if position + 1 < len(order):
                FAILOVERS.labels(from_provider=name, to_provider=order[position + 1]).inc()
        raise ApiError(
            503,
            "overloaded_error",
            f"no provider could serve `{request.model}`: {last.message if last else 'none'}",
            code="providers_unavailable",
            headers={"Retry-After": "1"},
        )

    # --- the two answers ---------------------------------------------------------------------

    async def complete(
        self, request: ChatRequest, request_id: str | None, started: float
    ) -> tuple[str, dict[str, Any]]:
        async def attempt(name: str, call: Call) -> tuple[dict[str, Any], int | None]:
            return await self.adapters[name].complete(call)

        provider, (body, tokens) = await self._failover(request, request_id, attempt)
        TTFT.labels(provider=provider, model=request.model).observe(time.perf_counter() - started)
        if tokens:
            OUTPUT_TOKENS.labels(provider=provider, model=request.model).inc(tokens)
        return provider, body

    async def stream(self, request: ChatRequest, request_id: str | None, started: float) -> Stream:
        provider, chunks, first = await self.open_stream(request, request_id)
        relay = Relay(self, request, request_id, started)
        return Stream(provider, relay.events(provider, chunks, first))

    async def open_stream(
        self,
        request: ChatRequest,
        request_id: str | None,
        *,
        exclude: Collection[str] = (),
        resume: Resume | None = None,
    ) -> tuple[str, AsyncIterator[Chunk], Chunk]:
        """The first provider of the route (but `exclude`) that produced a first event."""

        async def attempt(name: str, call: Call) -> tuple[AsyncIterator[Chunk], Chunk]:
            chunks = self.adapters[name].stream(call)
            try:
                async with asyncio.timeout(self.tuning.first_byte_timeout_s):
                    first = await anext(chunks)
            except TimeoutError as exc:
                await chunks.aclose()  # type: ignore[attr-defined]  # an async generator
                raise UpstreamError("no first byte in time", retryable=True) from exc
            except StopAsyncIteration as exc:
                raise UpstreamError("empty answer", retryable=True) from exc
            except ValueError as exc:  # a malformed first event (JSON): try elsewhere
                await chunks.aclose()  # type: ignore[attr-defined]  # an async generator
                raise UpstreamError("malformed answer", retryable=True) from exc
            except BaseException:
                await chunks.aclose()  # type: ignore[attr-defined]  # an async generator
                raise
            return chunks, first

        provider, (chunks, first) = await self._failover(
            request, request_id, attempt, exclude=exclude, resume=resume
        )
        return provider, chunks, first

    def health(self) -> dict[str, Any]:
        """The `providers` component of /health: degraded when a route's primary is not up."""
        degraded = sorted(m for m, r in self.routes.items() if not self.states[r[0]].available)
        return {
            "status": "degraded" if degraded else "ok",
            "providers": {name: state.report() for name, state in self.states.items()},
            "routes": self.routes,
            "degraded_routes": degraded,
        }


def _probe_of(adapter: Adapter, timeout: float) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        await adapter.probe(timeout)

    return probe


def _client_error(provider: str, exc: UpstreamError) -> ApiError:
    status = exc.status if exc.status in CLIENT_FAULTS else 502
    assert status is not None
    return ApiError(status, error_type(status), f"{provider}: {exc.message}", code="upstream_error")
