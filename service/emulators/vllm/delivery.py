"""When the vLLM emulator writes each chunk: fixed latencies, or the batching engine's schedule.

The chat handler asks a `Delivery` for its chunks and does not know which mode answers: the
constant mode paces by `ttft_ms`/`itl_ms` from the request's arrival; the batching mode submits
the request to the engine and writes each chunk when its last token is due.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from starlette.types import Receive

from service.emulators import tokens as tok
from service.emulators.disconnect import unless_disconnected
from service.emulators.generation import Plan, paced_chunks, wait_whole
from service.emulators.state import EmulatorState, RequestContext
from service.emulators.vllm.batching import BatchingDriver, Ticket


class Delivery:
    """Constant mode: the configured TTFT and inter-token latency, whatever the load."""

    def __init__(self, state: EmulatorState, plan: Plan, context: RequestContext) -> None:
        self.state, self.plan, self.context = state, plan, context

    def chunks(self) -> AsyncIterator[tuple[int, str]]:
        return paced_chunks(self.plan, self.context, self.state.config)

    async def whole(self) -> bool:
        """Wait until the whole answer is ready; False when the client left before."""
        await wait_whole(self.plan, self.context, self.state.config)
        return True

    def close(self) -> None:
        """The answer ended (completely or not); idempotent."""


class EngineDelivery(Delivery):
    """Batching mode: the engine decides when each token exists."""

    def __init__(
        self,
        state: EmulatorState,
        plan: Plan,
        context: RequestContext,
        ticket: Ticket,
        driver: BatchingDriver,
        receive: Receive,
    ) -> None:
        super().__init__(state, plan, context)
        self.ticket, self.driver, self.receive = ticket, driver, receive

    def chunks(self) -> AsyncIterator[tuple[int, str]]:
        ends, total = [], 0
        for size in self.plan.chunk_sizes:
            total += size
            ends.append(total - 1)
        count = len(ends) if self.plan.error_after_chunks is None else self.plan.error_after_chunks
        ticks = self.ticket.ticks(ends[:count], done_first=not ends)
        return paced_chunks(self.plan, self.context, self.state.config, ticks)

    async def whole(self) -> bool:
        """vLLM aborts a non-streaming request whose client disconnects (its routes are
        wrapped in `with_cancellation`); an ASGI handler is not cancelled, so watch for it."""
        return await unless_disconnected(self.ticket.complete(), self.receive)

    def close(self) -> None:
        """Abort what is still running (client gone, stream cut short) and log the schedule."""
        self.driver.abort(self.ticket)
        self.context.extra.update(self.ticket.facts(self.context.t0))


def start_delivery(
    state: EmulatorState,
    driver: BatchingDriver,
    plan: Plan,
    context: RequestContext,
    messages: Sequence[Mapping[str, Any]],
    receive: Receive,
) -> Delivery:
    """The delivery for this request in the current mode; in batching mode the request is
    submitted to the engine now. Raises `RequestTooLarge` when the engine cannot hold it."""
    if state.config.engine != "batching":
        return Delivery(state, plan, context)
    ticket = driver.submit(tok.chat_tokens(messages), len(plan.tokens))
    delivery = EngineDelivery(state, plan, context, ticket, driver, receive)
    context.cleanups.append(delivery.close)  # also when the response never started
    return delivery
