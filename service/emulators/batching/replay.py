"""Run timed arrivals through the engine offline: the schedule the cost model predicts.

Given the same submissions (times, sizes, prompt blocks) and the same parameters, this returns
exactly the schedule the emulator computes while it serves them, so a benchmark can compare
what clients measured with what the model says they should have seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from service.emulators.batching.engine import EngineRequest, Schedule
from service.emulators.batching.params import EngineParams
from service.emulators.batching.runner import EngineRunner


@dataclass(frozen=True)
class Arrival:
    """A request as submitted to the engine (engine time), and when its client left, if it did."""

    request: EngineRequest
    submitted_at: float
    aborted_at: float | None = None


@dataclass
class Predicted:
    """One request's predicted life: engine schedule plus the production time of every token."""

    schedule: Schedule | None = None
    produced: list[float] = field(default_factory=list)  # engine time each token was produced

    def due(self, delivery_s: float) -> list[float]:
        """When each token reaches the wire (production + delivery delay)."""
        return [t + delivery_s for t in self.produced]


@dataclass
class Replay:
    """Predicted schedules by request id, and the engine's load after every step."""

    requests: dict[str, Predicted]
    delivery_s: float
    steps: int = 0
    preemptions: int = 0
    prefix_queries: int = 0
    prefix_hits: int = 0
    # (step start, running, waiting) after each step: the queue a capacity sweep watches.
    load: list[tuple[float, int, int]] = field(default_factory=list)

    @property
    def prefix_hit_rate(self) -> float:
        return self.prefix_hits / self.prefix_queries if self.prefix_queries else 0.0


def replay(arrivals: Iterable[Arrival], params: EngineParams) -> Replay:
    """Simulate `arrivals` to completion (every request finishes or is aborted)."""
    runner = EngineRunner(params)
    out = Replay({}, params.cost.delivery_s())
    for arrival in sorted(arrivals, key=lambda a: a.submitted_at):
        runner.submit(arrival.request, arrival.submitted_at)
        out.requests[arrival.request.request_id] = Predicted()
        if arrival.aborted_at is not None:
            runner.abort(arrival.request.request_id, arrival.aborted_at)
    while (start := runner.next_start()) is not None:
        result, aborted = runner.advance(start)
        for schedule in aborted:
            out.requests[schedule.request_id].schedule = schedule
        if result is None:
            continue
        out.steps += 1
        out.preemptions += len(result.preempted)
        out.prefix_queries += result.prefix_queries
        out.prefix_hits += result.prefix_hits
        for request_id, _ in result.tokens:
            out.requests[request_id].produced.append(result.end)
        for schedule in result.finished:
            out.requests[schedule.request_id].schedule = schedule
        engine = runner.engine
        out.load.append((result.start, len(engine.running), len(engine.waiting)))
    return out
