"""The release gate's run of the declared workload: ``[workload]`` at its rate, open loop.

``latency.ttft``, ``latency.tokens-per-second`` and ``load.concurrent-users`` are judged on one
run of ``[workload]`` at its ``rate``, by the driver and the verdict ``python -m load.run`` uses
(``load.run.measure``), shortened by ``[workload.gate]`` so the whole gate stays quick. The run
is made once per session and kept in the session's stash: the latency boxes judge its
latencies, and the capacity search of load.concurrent-users takes it as its first step (a
second run at the same rate would measure the same thing again).

A run whose generator fell behind its schedule is *invalid*: the suite lacked the means to load
the target as declared, so the boxes judged on it are not verified (with the reason), never
passed or failed on latencies that were not measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import pytest

from acceptance.harness.target import USER_AGENT, Target
from acceptance.settings import SuiteConfig
from load.openloop import HttpTarget, LoadRun
from load.run import measure
from load.runreport import RunReport
from load.workload import WorkloadSettings


@dataclass(frozen=True)
class DeclaredRun:
    """The run at the declared rate and what it was sent with."""

    workload: WorkloadSettings  # the gate's copy of [workload] (durations of [workload.gate])
    chat: HttpTarget
    run: LoadRun
    report: RunReport
    wall_s: float


DECLARED_RUN = pytest.StashKey["DeclaredRun | str"]()


def chat_model(target: Target, config: SuiteConfig) -> str | None:
    """``chat_model``, else the reference stack's gateway model, else the target's first."""
    if config.chat_model:
        return config.chat_model
    if target.stack is not None:
        public = target.stack.emulators.get("vllm", {}).get("public_model")
        if public:
            return str(public)
    headers = {"Authorization": f"Bearer {target.api_key}", "User-Agent": USER_AGENT}
    try:
        answer = httpx.get(
            f"{target.url}/v1/models", headers=headers, verify=target.verify, timeout=10.0
        )
        return str(answer.json()["data"][0]["id"])
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        return None


def chat_target(target: Target, config: SuiteConfig) -> HttpTarget | str:
    """Where the declared workload goes (the ordinary API key), or why it cannot be sent."""
    if target.api_key is None:
        return "no API key (use --api-key or PREFLIGHT_API_KEY)"
    model = chat_model(target, config)
    if model is None:
        return "no chat model configured (chat_model) or listed by /v1/models"
    headers = {"Authorization": f"Bearer {target.api_key}", "User-Agent": USER_AGENT}
    return HttpTarget(target.url, model, headers=headers, verify=target.verify)


def gate_workload(workload: WorkloadSettings) -> WorkloadSettings:
    """``[workload]`` with the gate's durations and request timeout; its capacity search starts
    at the declared rate and runs ``capacity_steps`` steps after it."""
    gate = workload.gate
    search = workload.capacity.model_dump() | {
        "start_rate": workload.rate,
        "max_steps": 1 + gate.capacity_steps,
        "step_duration_s": gate.step_duration_s,
    }
    patch = {
        "duration_s": gate.duration_s,
        "warmup_s": gate.warmup_s,
        "request_timeout_s": gate.request_timeout_s,
        "capacity": search,
    }
    return WorkloadSettings.model_validate(workload.model_dump() | patch)


def step_workload(workload: WorkloadSettings) -> WorkloadSettings:
    """The gate's workload for its capacity steps: each warms up ``step_warmup_s``."""
    return workload.model_copy(update={"warmup_s": workload.gate.step_warmup_s})


def declared_run(
    pytestconfig: pytest.Config, target: Target, config: SuiteConfig
) -> DeclaredRun | str:
    """The session's run of ``[workload]`` at its rate (made on first use), or why none ran."""
    stash = pytestconfig.stash
    if DECLARED_RUN not in stash:
        stash[DECLARED_RUN] = _run(target, config)
    return stash[DECLARED_RUN]


def _run(target: Target, config: SuiteConfig) -> DeclaredRun | str:
    chat = chat_target(target, config)
    if isinstance(chat, str):
        return chat
    workload = gate_workload(config.workload)
    if workload.arrival in ("closed", "trace"):
        return (
            f"[workload] arrival = {workload.arrival!r}: the gate judges an open loop at a rate "
            "(constant, poisson or gamma)"
        )
    started = time.monotonic()
    run, report = measure(chat, workload, config.slo)
    return DeclaredRun(workload, chat, run, report, time.monotonic() - started)
