"""Run-wide Locust hooks: resolve the target, keep raw samples, judge the SLOs at the end.

Each process writes its own raw-sample file. In distributed mode workers also ship their new
samples to the master with every stats report (``report_to_master``), so the master judges the
SLOs on the samples of all workers and its exit code is the run's verdict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from load.options import LoadTarget, add_options, resolve
from load.report import render
from load.samples import SampleWriter, process_file
from load.slo import load_config
from load.workload import WorkloadSettings

logger = logging.getLogger(__name__)
# Request types that carry a measurement, not a request; and the context mark of chat requests,
# whose full record the chat user writes itself.
CUSTOM_TYPES = frozenset({"TTFT", "ITL", "TPS"})
CHAT_CONTEXT = "preflight_chat"
SAMPLES_KEY = "preflight_samples"


@dataclass
class RunState:
    """Per-process state of a run."""

    target: LoadTarget
    writer: SampleWriter | None
    records: list[dict[str, Any]] = field(default_factory=list)
    unsent: list[dict[str, Any]] = field(default_factory=list)  # worker: not yet at the master
    is_worker: bool = False
    workload: WorkloadSettings = field(default_factory=WorkloadSettings)

    def add(self, record: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.write(record)
        if self.is_worker:
            self.unsent.append(record)
        else:
            self.records.append(record)


_STATES: dict[int, RunState] = {}


def _listen(hook: Any, handler: Callable[..., None]) -> None:
    """Locust's EventHook is untyped; one typed door keeps mypy --strict meaningful here."""
    hook.add_listener(handler)


def state_of(environment: Environment) -> RunState:
    return _STATES[id(environment)]


def workload_of(options: Any) -> WorkloadSettings:
    """``[workload]`` of the configuration, with ``--arrival``/``--rate`` when given."""
    workload = load_config(options.preflight_config).workload
    patch = {"arrival": options.arrival or None, "rate": options.rate or None}
    given = {k: v for k, v in patch.items() if v is not None}
    return WorkloadSettings.model_validate(workload.model_dump() | given) if given else workload


def _on_parser(parser: Any, **_kwargs: Any) -> None:
    add_options(parser)


def _on_init(environment: Environment, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None:  # library use without a command line: nothing to configure
        return
    # httpx logs every request at INFO: thousands of lines that would bury Locust's own output.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    target = resolve(options, environment.host)
    if environment.host is None and target.url:
        environment.host = target.url
    is_master = isinstance(environment.runner, MasterRunner)
    writer = None if is_master else SampleWriter(process_file(options.samples_prefix))
    state = RunState(target, writer, is_worker=isinstance(environment.runner, WorkerRunner))
    state.workload = workload_of(options)
    _STATES[id(environment)] = state
    hooks = environment.events
    _listen(hooks.request, lambda **kw: _on_request(state, **kw))
    _listen(hooks.report_to_master, lambda **kw: _on_report_to_master(state, **kw))
    _listen(hooks.worker_report, lambda **kw: _on_worker_report(state, **kw))
    _listen(hooks.quitting, lambda **kw: _on_quitting(state, **kw))


def _on_request(
    state: RunState,
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None,
    context: dict[str, Any] | None = None,
    **_kwargs: Any,
) -> None:
    """Every plain request becomes an ``http`` record with Locust's unrounded time."""
    if request_type in CUSTOM_TYPES or (context or {}).get(CHAT_CONTEXT):
        return
    state.add(
        {
            "kind": "http",
            "method": request_type,
            "name": name,
            "ok": exception is None,
            "response_time_ms": response_time,
            "wall_start": time.time() - response_time / 1000,
            "error": None if exception is None else str(exception)[:300],
        }
    )


def _on_report_to_master(state: RunState, data: dict[str, Any], **_kwargs: Any) -> None:
    data[SAMPLES_KEY], state.unsent = state.unsent, []


def _on_worker_report(state: RunState, data: dict[str, Any], **_kwargs: Any) -> None:
    state.records.extend(data.get(SAMPLES_KEY, []))


def _on_quitting(state: RunState, environment: Environment, **_kwargs: Any) -> None:
    """Set the exit code from the SLOs; a worker leaves the verdict to its master."""
    if state.writer is not None:
        state.writer.close()
        logger.info("raw samples: %s", state.writer.path)
    if state.is_worker:
        return
    options = environment.parsed_options
    config = load_config(options.preflight_config if options is not None else None)
    text, ok = render(state.records, config.slo, state.workload)
    for line in text.splitlines():
        (logger.info if ok or "MISSED" not in line else logger.error)(line)
    if not ok:
        logger.error("SLO missed: the run fails (exit code 1)")
    environment.process_exit_code = 0 if ok else 1


_listen(events.init_command_line_parser, _on_parser)
_listen(events.init, _on_init)
