"""Engine time: when steps start, and which arrivals and aborts each step sees.

The one place that turns timed events into engine steps, shared by the emulator's event loop
(`service/emulators/vllm/batching.py`) and the offline replay, so the two give the same
schedule for the same inputs. The rules, all in engine time (no wall clock here):

- A submitted request enters the waiting queue at its admission time (submission + the cost
  model's admission delay); an abort takes effect at its time.
- A step starts when the previous one ends, or, when the engine has nothing to do, at the next
  admission. It sees the admissions and aborts whose time is at or before its start (ties in
  submission order); later ones wait for the next step, as requests arriving during a forward
  pass wait for the next one in vLLM.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from service.emulators.batching.engine import Engine, EngineRequest, Schedule, StepResult
from service.emulators.batching.params import EngineParams


@dataclass(order=True)
class _Event:
    at: float
    seq: int
    request: EngineRequest | None = field(compare=False, default=None)
    abort_id: str | None = field(compare=False, default=None)


class EngineRunner:
    """An engine plus its pending events and the end of its last step."""

    def __init__(self, params: EngineParams) -> None:
        self.engine = Engine(params)
        self.clock = float("-inf")  # end of the last step
        self._events: list[_Event] = []
        self._seq = 0
        self._admitted: dict[str, float] = {}  # pending request id -> admission time

    @property
    def params(self) -> EngineParams:
        return self.engine.params

    def submit(self, request: EngineRequest, submitted_at: float) -> float:
        """Register a request; returns its admission time. Raises `RequestTooLarge` at once
        for a request the cache could never hold."""
        self.engine.check(request)
        at = submitted_at + self.params.cost.admission_s(request.prompt_tokens)
        self._push(_Event(at, self._next(), request=request))
        self._admitted[request.request_id] = at
        return at

    def abort(self, request_id: str, at: float) -> None:
        self._push(_Event(at, self._next(), abort_id=request_id))

    def idle(self) -> bool:
        """Nothing queued, running or pending: the engine may be rebuilt without loss."""
        return not self._events and not self.engine.has_work()

    def next_start(self) -> float | None:
        """When the next step starts (None: nothing to do until something is submitted)."""
        if self.engine.has_work():
            return self.clock
        admissions = [e.at for e in self._events if e.request is not None]
        if not admissions:
            return None
        return max(self.clock, min(admissions))

    def advance(self, start: float) -> tuple[StepResult | None, list[Schedule]]:
        """Apply the events due by `start`, then run the step starting there (None when the
        events left nothing to do). Also returns the schedules of requests aborted now."""
        aborted: list[Schedule] = []
        while self._events and self._events[0].at <= start:
            event = heapq.heappop(self._events)
            if event.request is not None:
                self._admitted.pop(event.request.request_id, None)
                self.engine.add(event.request, event.at)
            elif event.abort_id is not None:
                schedule = self._abort_now(event.abort_id, event.at)
                if schedule is not None:
                    aborted.append(schedule)
        if not self.engine.has_work():
            return None, aborted
        result = self.engine.step(start)
        self.clock = result.end
        return result, aborted

    def _abort_now(self, request_id: str, at: float) -> Schedule | None:
        admitted = self._admitted.pop(request_id, None)
        if admitted is not None:  # aborted before admission: drop its pending arrival
            self._events = [
                e for e in self._events if e.request is None or e.request.request_id != request_id
            ]
            heapq.heapify(self._events)
            return Schedule(request_id, admitted, None, None, None, 0, 0, 0, at, aborted=True)
        return self.engine.abort(request_id, at)

    def _push(self, event: _Event) -> None:
        heapq.heappush(self._events, event)

    def _next(self) -> int:
        self._seq += 1
        return self._seq
