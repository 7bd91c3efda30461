"""A run planned in full before its first request: sessions, their turns, lengths and arrivals.

Planning first means every impossible request (over the model's context, a prefix group that
does not exist, an unreadable trace line) is refused before anything is sent, with the field and
the line named; and the same seed plans the same run everywhere. Open-loop runs plan their
arrivals here; a closed loop asks for sessions one by one (``session(workload, index)``), since
how many it sends depends on the target's speed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from load.arrivals import arrival_offsets
from load.prompts import MESSAGE_OVERHEAD, MIN_MESSAGE_TOKENS
from load.trace import TraceError, TraceRecord, read_trace
from load.workload import WorkloadSettings


class PlanError(ValueError):
    """A workload that cannot be run; the message names the setting or trace line."""


@dataclass(frozen=True)
class Turn:
    """One request of a session: its own new message and the completion asked for."""

    input_tokens: int
    output_tokens: int
    offset_s: float | None = None  # a trace turn's own arrival; None: after the previous answer


@dataclass(frozen=True)
class SessionPlan:
    """A conversation: its first turn arrives at ``offset_s``."""

    index: int
    offset_s: float
    turns: tuple[Turn, ...]
    prefix_group: int | None = None


@dataclass(frozen=True)
class RunPlan:
    """Every session of an open-loop run, by arrival; ``span_s`` is when the last may arrive."""

    sessions: list[SessionPlan]
    span_s: float
    rate: float | None  # asked rate of new sessions; None: a trace's own timing


def _prefix_group(workload: WorkloadSettings, rng: random.Random) -> int | None:
    prefix = workload.prefix
    if not prefix.groups or rng.random() >= prefix.share:
        return None
    weights = prefix.weights or [1.0] * prefix.groups
    return rng.choices(range(prefix.groups), weights=weights)[0]


def session(workload: WorkloadSettings, index: int, offset_s: float = 0.0) -> SessionPlan:
    """The ``index``-th session of a synthetic workload: the same in every run of the seed."""
    rng = random.Random(f"{workload.seed}/session/{index}")  # noqa: S311 - reproducible load
    group = _prefix_group(workload, rng)
    turns = tuple(
        Turn(max(workload.input.draw(rng), MIN_MESSAGE_TOKENS), workload.output.draw(rng))
        for _ in range(workload.sessions.turns)
    )
    return SessionPlan(index, offset_s, turns, group)


def plan_run(
    workload: WorkloadSettings, *, rate: float | None = None, duration_s: float | None = None
) -> RunPlan:
    """The open-loop run of ``workload`` (``rate``/``duration_s`` override its own); arrivals
    span warm-up plus duration. Raises PlanError for anything that cannot be sent."""
    if workload.arrival == "closed":
        raise PlanError("arrival = 'closed' has no schedule: use a closed-loop run")
    rate = workload.rate if rate is None else rate
    if rate <= 0:
        raise PlanError(f"rate must be > 0, got {rate}")
    span = workload.warmup_s + (workload.duration_s if duration_s is None else duration_s)
    records = _trace(workload)
    if workload.arrival == "trace":
        sessions = _trace_sessions(workload, records or [])
        return RunPlan(sessions, max(s.offset_s for s in sessions), None)
    rng = random.Random(f"{workload.seed}/arrivals")  # noqa: S311 - reproducible load
    offsets = arrival_offsets(workload.arrival, rate, span, rng, workload.burstiness)
    if records is None:
        sessions = [session(workload, i, offset) for i, offset in enumerate(offsets)]
    else:  # the trace's lengths, in order and cycled, at the asked arrivals
        sessions = [
            _single(records[i % len(records)], i, offset) for i, offset in enumerate(offsets)
        ]
    return RunPlan(sessions, span, rate)


def _trace(workload: WorkloadSettings) -> list[TraceRecord] | None:
    if workload.trace is None:
        return None
    try:
        numbered = read_trace(workload.trace)
    except TraceError as exc:
        raise PlanError(str(exc)) from exc
    _check_trace(workload, numbered)
    return [record for _, record in numbered]


def _single(record: TraceRecord, index: int, offset_s: float) -> SessionPlan:
    turn = Turn(record.input_tokens, record.output_tokens)
    return SessionPlan(index, offset_s, (turn,), record.prefix)


def _trace_sessions(
    workload: WorkloadSettings, records: Sequence[TraceRecord]
) -> list[SessionPlan]:
    """Lines with a session become the turns of one conversation, in offset order."""
    groups: dict[str, list[TraceRecord]] = {}
    sessions: list[SessionPlan] = []
    for record in records:
        if record.session is None:
            sessions.append(_single(record, len(sessions), record.offset_ms / 1000))
            continue
        groups.setdefault(record.session, []).append(record)
    for turns in groups.values():
        first = turns[0]
        planned = tuple(Turn(t.input_tokens, t.output_tokens, t.offset_ms / 1000) for t in turns)
        sessions.append(SessionPlan(len(sessions), first.offset_ms / 1000, planned, first.prefix))
    sessions.sort(key=lambda s: s.offset_s)
    return sessions


def _check_trace(workload: WorkloadSettings, numbered: Sequence[tuple[int, TraceRecord]]) -> None:
    """Context and prefix of every line, a session's history counted, in arrival order."""
    where = workload.trace
    history: dict[str, int] = {}
    for number, record in numbered:
        if record.input_tokens < MIN_MESSAGE_TOKENS:
            raise PlanError(
                f"{where}:{number}: field input_tokens: at least {MIN_MESSAGE_TOKENS} "
                "(the template's tokens and one word)"
            )
        if record.prefix is not None and record.prefix >= workload.prefix.groups:
            raise PlanError(
                f"{where}:{number}: field prefix: group {record.prefix} does not exist "
                f"([workload.prefix] groups = {workload.prefix.groups})"
            )
        prefix = workload.prefix.tokens if record.prefix is not None else 0
        carried = history.get(record.session, 0) if record.session is not None else 0
        if workload.arrival != "trace" or not workload.sessions.history:
            carried = 0
        need = prefix + carried + record.input_tokens + record.output_tokens
        if need > workload.max_model_len:
            raise PlanError(
                f"{where}:{number}: fields input_tokens + output_tokens: {need} tokens "
                f"with prefix and history, over max_model_len ({workload.max_model_len})"
            )
        if record.session is not None:
            history[record.session] = (
                carried + record.input_tokens + record.output_tokens + MESSAGE_OVERHEAD
            )
