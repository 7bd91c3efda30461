"""The batching engine's scheduler: token budget, chunked prefill, limits, preemption, caching."""

from __future__ import annotations

import pytest

from service.emulators.batching.engine import Engine, EngineRequest, RequestTooLarge
from service.emulators.batching.params import (
    CacheGeometry,
    CostModel,
    EngineParams,
    SchedulerLimits,
)

# Round numbers so step times can be checked by hand: 1 ms a step, 0.1 ms a prefill token,
# 0.01 ms a decoding request.
COST = CostModel(1000, 100, 10, 0, 0, 0, 0)


def params(
    *, budget: int = 8192, seqs: int = 256, blocks: int = 1000, block: int = 4, caching: bool = True
) -> EngineParams:
    return EngineParams(COST, SchedulerLimits(seqs, budget), CacheGeometry(blocks, block, caching))


def request(name: str, prompt: int, out: int, hashes: tuple[int, ...] = ()) -> EngineRequest:
    return EngineRequest(name, prompt, out, hashes)


def run(engine: Engine, start: float = 0.0, limit: int = 1000) -> list[tuple[float, list[str]]]:
    """Steps until idle: (end, ids that got a token) per step."""
    out = []
    now = start
    for _ in range(limit):
        if not engine.has_work():
            return out
        result = engine.step(now)
        out.append((result.end, [rid for rid, _ in result.tokens]))
        now = result.end
    raise AssertionError("engine did not drain")


def test_prefill_then_one_token_per_step() -> None:
    """A lone request: one prefill step yields the first token, then one decode step per token;
    step time = overhead + prefill or decode cost."""
    engine = Engine(params())
    engine.add(request("a", 10, 3), 0.0)
    first = engine.step(0.0)
    assert first.tokens == (("a", 0),) and first.prefill_tokens == 10 and first.decode_seqs == 0
    assert first.end == pytest.approx((1000 + 10 * 100) / 1e6)
    second = engine.step(first.end)
    assert second.tokens == (("a", 1),) and second.decode_seqs == 1 and second.prefill_tokens == 0
    assert second.end - first.end == pytest.approx((1000 + 10) / 1e6)
    third = engine.step(second.end)
    assert [s.tokens for s in third.finished] == [3] and not engine.has_work()


def test_chunked_prefill_within_the_budget() -> None:
    """A 100-token prompt with a 32-token budget takes 4 steps (32, 32, 32, 4) before its first
    token; no step schedules more than the budget."""
    engine = Engine(params(budget=32))
    engine.add(request("a", 100, 1), 0.0)
    steps = [engine.step(0.0)]
    while engine.has_work():
        steps.append(engine.step(steps[-1].end))
    assert [s.scheduled_tokens for s in steps] == [32, 32, 32, 4]
    assert [s.tokens for s in steps] == [(), (), (), (("a", 0),)]


def test_decodes_first_then_prefill_chunks() -> None:
    """A running request keeps decoding while a long prompt is prefilled in the budget left."""
    engine = Engine(params(budget=16))
    engine.add(request("old", 4, 10), 0.0)
    step = engine.step(0.0)
    engine.add(request("new", 40, 1), step.end)
    step = engine.step(step.end)
    assert step.decode_seqs == 1 and step.prefill_tokens == 15 and step.scheduled_tokens == 16
    assert step.tokens == (("old", 1),)


def test_max_num_seqs_keeps_the_rest_waiting() -> None:
    """With max_num_seqs 2 the third request waits until one of the first two finishes."""
    engine = Engine(params(seqs=2))
    for name in "abc":
        engine.add(request(name, 4, 3 if name == "a" else 5), 0.0)
    step = engine.step(0.0)
    assert {rid for rid, _ in step.tokens} == {"a", "b"} and len(engine.waiting) == 1
    steps = run(engine, step.end)
    first_c = next(i for i, (_, ids) in enumerate(steps) if "c" in ids)
    last_a = max(i for i, (_, ids) in enumerate(steps) if "a" in ids)
    assert first_c > last_a


def test_preemption_recomputes_the_youngest() -> None:
    """Two requests that cannot both grow in a 4-block cache: the younger is preempted, freed,
    recomputed from scratch later, and still produces each of its tokens exactly once."""
    engine = Engine(params(blocks=4, block=4))
    engine.add(request("old", 6, 8), 0.0)
    engine.add(request("young", 6, 8), 0.0)
    preempted: list[str] = []
    tokens: dict[str, list[int]] = {"old": [], "young": []}
    finished = {}
    now = 0.0
    while engine.has_work():
        result = engine.step(now)
        preempted += result.preempted
        for rid, index in result.tokens:
            tokens[rid].append(index)
        finished |= {s.request_id: s for s in result.finished}
        assert result.scheduled_tokens > 0
        now = result.end
    assert preempted and set(preempted) == {"young"}
    assert tokens == {"old": list(range(8)), "young": list(range(8))}
    assert finished["young"].preemptions == len(preempted) and finished["old"].preemptions == 0
    assert engine.kv.free_blocks == 4


def test_request_larger_than_the_cache_is_refused() -> None:
    engine = Engine(params(blocks=4, block=4))
    with pytest.raises(RequestTooLarge):
        engine.add(request("huge", 10, 7), 0.0)


def test_prefix_hit_skips_prefill() -> None:
    """The same 4 prompt blocks again: 3 blocks hit (the last token is always recomputed, so
    the hit stops at length - 1), 4 tokens prefilled instead of 16, counted as queries/hits."""
    engine = Engine(params(block=4))
    hashes = (1, 2, 3, 4)
    engine.add(request("a", 16, 1, hashes), 0.0)
    cold = engine.step(0.0)
    engine.add(request("b", 16, 1, hashes), cold.end)
    warm = engine.step(cold.end)
    assert (cold.prefill_tokens, warm.prefill_tokens) == (16, 4)
    assert (warm.prefix_queries, warm.prefix_hits) == (16, 12)
    assert warm.finished[0].cached_tokens == 12 and cold.finished[0].cached_tokens == 0
    assert warm.end - warm.start < cold.end - cold.start


def test_hit_stops_at_the_first_differing_block() -> None:
    engine = Engine(params(block=4))
    engine.add(request("a", 16, 1, (1, 2, 3, 4)), 0.0)
    end = engine.step(0.0).end
    engine.add(request("b", 16, 1, (1, 2, 9, 10)), end)
    assert engine.step(end).prefix_hits == 8


def test_freed_cached_blocks_are_evicted_least_recent_first() -> None:
    """A 4-block cache holding the freed prompts of "a" then "b": a new prompt evicts the
    blocks of "a" (freed first); those of "b" still hit."""
    engine = Engine(params(blocks=4, block=4))

    def serve(name: str, hashes: tuple[int, ...], now: float) -> tuple[int, float]:
        engine.add(request(name, 8, 1, hashes), now)
        result = engine.step(now)
        return result.prefix_hits, result.end

    now = 0.0
    for name, hashes in (("a", (1, 2)), ("b", (5, 6)), ("c", (7, 8))):
        _, now = serve(name, hashes, now)
    assert engine.kv.usage == 0.0  # cached but free blocks count as free
    hits_b, now = serve("b2", (5, 6), now)
    hits_a, now = serve("a2", (1, 2), now)
    assert (hits_b, hits_a) == (4, 0)


def test_no_prefix_caching() -> None:
    engine = Engine(params(caching=False))
    engine.add(request("a", 16, 1, (1, 2, 3, 4)), 0.0)
    end = engine.step(0.0).end
    engine.add(request("b", 16, 1, (1, 2, 3, 4)), end)
    assert engine.step(end).prefix_hits == 0


def test_same_step_requests_share_a_prefix() -> None:
    """Blocks are cached when scheduled (as in vLLM), so a request scheduled later in the same
    step already hits the prefix an earlier one is computing."""
    engine = Engine(params(block=4))
    engine.add(request("a", 16, 1, (1, 2, 3, 4)), 0.0)
    engine.add(request("b", 16, 1, (1, 2, 3, 4)), 0.0)
    step = engine.step(0.0)
    assert step.prefill_tokens == 16 + 4 and step.prefix_hits == 12


def test_abort_frees_the_blocks() -> None:
    engine = Engine(params(blocks=20, block=4))
    engine.add(request("a", 12, 50), 0.0)
    engine.step(0.0)
    schedule = engine.abort("a", 1.0)
    assert schedule is not None and schedule.aborted and schedule.tokens == 1
    assert engine.kv.free_blocks == 20 and not engine.has_work()
    assert engine.abort("a", 2.0) is None


def test_time_scale_multiplies_every_duration() -> None:
    cost = CostModel(1000, 100, 10, 1, 50, 2, 300, time_scale=2.0)
    assert cost.step_s(10, 3, 100) == pytest.approx(2 * (1000 + 1000 + 30 + 100) / 1e6)
    assert cost.admission_s(10) == pytest.approx(2 * 70 / 1e6)
    assert cost.delivery_s() == pytest.approx(600 / 1e6)
