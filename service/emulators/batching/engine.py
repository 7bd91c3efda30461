"""One vLLM v1 engine core: a continuous-batching scheduler over the paged KV cache.

Each `step(start)` schedules one forward pass the way vllm/v1/core/sched/scheduler.py does and
returns what it produced and when it ends:

1. Running requests first, in order, each given the tokens it still needs (1 for a decode, the
   rest of its prompt for a chunked prefill) within the step's token budget. When the KV cache
   cannot hold them, the youngest running request is preempted: its blocks are freed, its
   computed tokens forgotten, and it goes back to the head of the waiting queue to be
   recomputed (prompt and the tokens it already produced).
2. Then, if nothing was preempted this step, waiting requests in arrival order while the budget,
   `max_num_seqs` and the free blocks allow, each starting after its cached prompt prefix.
3. A request whose computed tokens reach its length produces one token at the end of the step.

Pure and synchronous: no clock, no I/O, no randomness. Equal inputs give equal schedules, so
the same code runs under the emulator's event loop and offline (`replay`, `knee`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from service.emulators.batching.kv_cache import KVCache
from service.emulators.batching.params import EngineParams


class RequestTooLarge(ValueError):
    """The request can never fit the KV cache, even alone (vLLM refuses such a max_model_len
    at start-up; the emulator's geometry is configurable, so it refuses the request)."""


@dataclass(frozen=True)
class EngineRequest:
    """What the scheduler needs of a request: its size, its output length, its prompt blocks."""

    request_id: str
    prompt_tokens: int
    output_tokens: int
    block_hashes: tuple[int, ...] = ()  # chained hashes of the prompt's full blocks


@dataclass(frozen=True)
class Schedule:
    """The ground truth of one request's life in the engine (engine times, seconds)."""

    request_id: str
    admitted_at: float
    scheduled_at: float | None
    first_token_at: float | None
    last_token_at: float | None
    tokens: int
    preemptions: int
    cached_tokens: int
    finished_at: float | None
    aborted: bool = False


@dataclass
class _Seq:
    request: EngineRequest
    admitted_at: float
    computed: int = 0
    generated: int = 0
    blocks: list[int] = field(default_factory=list)
    registered: int = 0  # leading blocks already registered in the prefix cache
    cached_tokens: int | None = None
    preemptions: int = 0
    scheduled_at: float | None = None
    first_token_at: float | None = None
    last_token_at: float | None = None

    @property
    def length(self) -> int:
        """Tokens whose KV the request needs now: the prompt and what it produced so far."""
        return self.request.prompt_tokens + self.generated

    def schedule(self, finished_at: float | None, *, aborted: bool = False) -> Schedule:
        return Schedule(
            self.request.request_id,
            self.admitted_at,
            self.scheduled_at,
            self.first_token_at,
            self.last_token_at,
            self.generated,
            self.preemptions,
            self.cached_tokens or 0,
            finished_at,
            aborted,
        )


@dataclass(frozen=True)
class StepResult:
    """One forward pass: its span, its batch, and what it produced (tokens at `end`)."""

    start: float
    end: float
    tokens: tuple[tuple[str, int], ...]  # (request id, index of the token in its answer)
    finished: tuple[Schedule, ...]
    preempted: tuple[str, ...]
    scheduled_tokens: int
    prefill_tokens: int
    decode_seqs: int
    prompt_tokens_done: int  # prompts of the requests whose first token this step produced
    prefix_queries: int  # prompt tokens looked up in the prefix cache this step
    prefix_hits: int  # ... and found there


class Engine:
    """The waiting queue, the running batch and the KV cache of one engine."""

    def __init__(self, params: EngineParams) -> None:
        self.params = params  # cost and limits may be replaced between steps; geometry not
        self.kv = KVCache(params.cache)
        self.waiting: deque[_Seq] = deque()
        self.running: list[_Seq] = []
        self._by_id: dict[str, _Seq] = {}

    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    def check(self, request: EngineRequest) -> None:
        """Raise `RequestTooLarge` for a request that could never be scheduled."""
        total = request.prompt_tokens + request.output_tokens
        if self.kv.blocks_for(total) > self.params.cache.num_gpu_blocks:
            raise RequestTooLarge(
                f"{total} tokens exceed the KV cache ({self.params.cache.capacity_tokens} tokens)"
            )

    def add(self, request: EngineRequest, at: float) -> None:
        """Queue a request admitted at engine time `at`."""
        self.check(request)
        seq = _Seq(request, at)
        self._by_id[request.request_id] = seq
        self.waiting.append(seq)

    def abort(self, request_id: str, at: float) -> Schedule | None:
        """Drop a request (its client left); None when it is not here (finished already)."""
        seq = self._by_id.pop(request_id, None)
        if seq is None:
            return None
        if seq in self.running:
            self.running.remove(seq)
        else:
            self.waiting.remove(seq)
        self.kv.free(seq.blocks)
        return seq.schedule(at, aborted=True)

    def step(self, start: float) -> StepResult:
        """Schedule and run one forward pass starting at engine time `start`."""
        batch: dict[str, int] = {}
        preempted = self._schedule_running(batch)
        queries = hits = 0
        if not preempted:
            queries, hits = self._schedule_waiting(batch, start)
        return self._execute(batch, start, preempted, queries, hits)

    def _schedule_running(self, batch: dict[str, int]) -> list[str]:
        budget = self.params.limits.max_num_batched_tokens
        preempted: list[str] = []
        index = 0
        while index < len(self.running) and budget > 0:
            seq = self.running[index]
            new = min(seq.length - seq.computed, budget)
            while not self.kv.allocate(seq.blocks, seq.computed + new):
                victim = self.running.pop()  # the youngest request
                self._preempt(victim)
                preempted.append(victim.request.request_id)
                if victim is seq:
                    return preempted  # nothing left to free: this request waits too
            self._register(seq, seq.computed + new)
            batch[seq.request.request_id] = new
            budget -= new
            index += 1
        return preempted

    def _preempt(self, seq: _Seq) -> None:
        self.kv.free(seq.blocks)
        seq.computed = seq.registered = 0
        seq.preemptions += 1
        self.waiting.appendleft(seq)

    def _schedule_waiting(self, batch: dict[str, int], start: float) -> tuple[int, int]:
        limits = self.params.limits
        budget = limits.max_num_batched_tokens - sum(batch.values())
        queries = hits = 0
        while self.waiting and budget > 0 and len(self.running) < limits.max_num_seqs:
            seq = self.waiting[0]
            hashes = seq.request.block_hashes
            cached = self.kv.lookup(hashes, seq.length - 1)
            computed = len(cached) * self.kv.block_size
            new = min(seq.length - computed, budget)
            if not self.kv.allocate(seq.blocks, computed + new, cached):
                break
            self.waiting.popleft()
            self.running.append(seq)
            seq.computed, seq.registered = computed, len(cached)
            self._register(seq, computed + new)
            if seq.cached_tokens is None:
                seq.cached_tokens = computed
            if seq.scheduled_at is None:
                seq.scheduled_at = start
            queries += seq.length
            hits += computed
            batch[seq.request.request_id] = new
            budget -= new
        return queries, hits

    def _execute(
        self, batch: dict[str, int], start: float, preempted: list[str], queries: int, hits: int
    ) -> StepResult:
        prefill = decodes = context = prompts_done = 0
        produced: list[_Seq] = []
        for seq in self.running:
            new = batch.get(seq.request.request_id)
            if new is None:
                continue
            if seq.generated and seq.computed == seq.length - 1:
                decodes += 1
            else:
                prefill += new
            seq.computed += new
            context += seq.computed
            if seq.computed >= seq.length:
                produced.append(seq)
        end = start + self.params.cost.step_s(prefill, decodes, context)
        tokens: list[tuple[str, int]] = []
        finished: list[Schedule] = []
        for seq in produced:
            if seq.generated < seq.request.output_tokens:
                if seq.first_token_at is None:
                    seq.first_token_at = end
                    prompts_done += seq.request.prompt_tokens
                tokens.append((seq.request.request_id, seq.generated))
                seq.generated += 1
                seq.last_token_at = end
            if seq.generated >= seq.request.output_tokens:
                self.running.remove(seq)
                self.kv.free(seq.blocks)
                del self._by_id[seq.request.request_id]
                finished.append(seq.schedule(end))
        return StepResult(
            start,
            end,
            tuple(tokens),
            tuple(finished),
            tuple(preempted),
            sum(batch.values()),
            prefill,
            decodes,
            prompts_done,
            queries,
            hits,
        )

    def _register(self, seq: _Seq, computed: int) -> None:
        """Cache the full prompt blocks this step computes. As in vLLM, at scheduling time: a
        request scheduled later in the same step can already hit them."""
        hashes = seq.request.block_hashes
        full = min(min(computed, seq.request.prompt_tokens) // self.kv.block_size, len(hashes))
        if full > seq.registered:
            self.kv.register(seq.blocks, hashes, seq.registered, full)
            seq.registered = full
