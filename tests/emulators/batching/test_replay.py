"""Engine time (`runner`) and the offline replay: when steps start, what each step sees."""

from __future__ import annotations

import pytest

from service.emulators.batching.engine import EngineRequest
from service.emulators.batching.params import CacheGeometry, CostModel, EngineParams
from service.emulators.batching.replay import Arrival, replay
from service.emulators.batching.runner import EngineRunner

# 10 ms a step, 1 ms admission, 2 ms delivery; prefill and decode free, so steps are regular.
PARAMS = EngineParams(CostModel(10_000, 0, 0, 0, 1_000, 0, 2_000), cache=CacheGeometry(1000, 4))


def req(name: str, prompt: int = 8, out: int = 3) -> EngineRequest:
    return EngineRequest(name, prompt, out)


def test_idle_engine_starts_at_the_admission() -> None:
    """Submitted at 5.0: admitted 1 ms later, and the first step starts right then."""
    runner = EngineRunner(PARAMS)
    assert runner.next_start() is None
    assert runner.submit(req("a"), 5.0) == pytest.approx(5.001)
    assert runner.next_start() == pytest.approx(5.001)


def test_an_arrival_during_a_step_waits_for_the_next() -> None:
    """b is admitted 4 ms into a's first step: it joins the step after, not the running one."""
    runner = EngineRunner(PARAMS)
    runner.submit(req("a"), 0.0)
    runner.submit(req("b"), 0.004)
    first, _ = runner.advance(runner.next_start() or 0.0)
    assert first is not None and first.tokens == (("a", 0),)
    second, _ = runner.advance(runner.next_start() or 0.0)
    assert second is not None and second.start == pytest.approx(first.end)
    assert {rid for rid, _ in second.tokens} == {"a", "b"}


def test_abort_before_admission_drops_the_request() -> None:
    runner = EngineRunner(PARAMS)
    runner.submit(req("a"), 0.0)
    runner.abort("a", 0.0005)
    result, aborted = runner.advance(0.001)
    assert result is None and [s.request_id for s in aborted] == ["a"] and runner.idle()


def test_replay_predicts_tokens_and_delivery() -> None:
    """Two requests 25 ms apart: the second's steps line up after the first's step boundary;
    delivery adds 2 ms to each production time."""
    out = replay([Arrival(req("a"), 0.0), Arrival(req("b"), 0.025)], PARAMS)
    a, b = out.requests["a"], out.requests["b"]
    assert a.produced == pytest.approx([0.011, 0.021, 0.031])
    # b admitted at 0.026, during the step 0.021-0.031, so it is first scheduled at 0.031.
    assert b.schedule is not None and b.schedule.scheduled_at == pytest.approx(0.031)
    assert b.produced == pytest.approx([0.041, 0.051, 0.061])
    assert a.due(out.delivery_s) == pytest.approx([0.013, 0.023, 0.033])


def test_replay_is_deterministic() -> None:
    arrivals = [Arrival(req(f"r{i}", 8 + i % 5, 4 + i % 3), i * 0.003) for i in range(60)]
    first, second = replay(arrivals, PARAMS), replay(list(reversed(arrivals)), PARAMS)
    assert {k: v.produced for k, v in first.requests.items()} == {
        k: v.produced for k, v in second.requests.items()
    }


def test_replay_with_an_abort() -> None:
    out = replay([Arrival(req("a", out=100), 0.0, aborted_at=0.05)], PARAMS)
    schedule = out.requests["a"].schedule
    assert schedule is not None and schedule.aborted and 0 < schedule.tokens < 100
