"""Auxiliary services: the extension point for emulators (vLLM, Ollama, ...).

An emulator joins the stack by appending one ``AuxiliaryService`` to ``AUXILIARY_SERVICES``, e.g.::

    AUXILIARY_SERVICES.append(AuxiliaryService(
        name="vllm",
        argv=lambda ctx: [ctx.python, "-m", "service.emulators.vllm", "--port", str(ctx.port),
                          "--requests-log", str(ctx.logs_dir / "vllm.jsonl")],
        ready_path="/health",
        info=lambda ctx: {"url": ctx.url, "requests_log": str(ctx.logs_dir / "vllm.jsonl")},
        service_env=lambda ctx: {"PLATFORM_VLLM_URL": ctx.url},
    ))

The stack starts them after the datastore and before the API (whose environment may point at
them), on free ports with the same clash retry as everything else, polls ``http://127.0.0.1:PORT``
+ ``ready_path`` until it answers below 500, records ``info(ctx)`` under ``emulators.<name>`` in
``stack.json`` and stops them after the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.emulators.github import DEFAULT_REPO as GITHUB_REPO


@dataclass(frozen=True)
class AuxiliaryContext:
    """What an auxiliary service's callbacks may use to build argv and stack.json entries."""

    name: str
    port: int
    python: str
    stack_dir: Path
    logs_dir: Path
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _no_env(_ctx: AuxiliaryContext) -> dict[str, str]:
    return {}


def _url_only(ctx: AuxiliaryContext) -> dict[str, Any]:
    return {"url": ctx.url}


@dataclass(frozen=True)
class AuxiliaryService:
    """A process the stack boots next to the service, described by callbacks of its port."""

    name: str
    argv: Callable[[AuxiliaryContext], list[str]]
    ready_path: str = "/health"
    info: Callable[[AuxiliaryContext], dict[str, Any]] = field(default=_url_only)
    # PLATFORM_* variables pointing API and workers at this service:
    service_env: Callable[[AuxiliaryContext], dict[str, str]] = field(default=_no_env)
    # Extra environment of the auxiliary process itself (e.g. its latency knobs):
    child_env: Callable[[AuxiliaryContext], dict[str, str]] = field(default=_no_env)
    enabled: bool = True


# The public model name the stack's gateway serves: vLLM first, Ollama as its fallback.
PUBLIC_CHAT_MODEL = "llama-3.1-8b-instruct"
# Quick failback in a test stack (the service defaults suit production: 30 s / 5 s).
STACK_GATEWAY = {"cooldown_s": 2.0, "probe_interval_s": 0.25, "probe_timeout_s": 1.0}
# Providers seen so far per stack directory. boot_auxiliary merges each service's env in
# registration order, so the last provider's env carries all of them in PLATFORM_PROVIDERS.
_PROVIDERS_BY_STACK: dict[Path, dict[str, dict[str, Any]]] = {}


def _provider_env(
    kind: str, model: str, priority: int
) -> Callable[[AuxiliaryContext], dict[str, str]]:
    def env(ctx: AuxiliaryContext) -> dict[str, str]:
        providers = _PROVIDERS_BY_STACK.setdefault(ctx.stack_dir, {})
        providers[ctx.name] = {
            "kind": kind,
            "base_url": ctx.url,
            "models": {PUBLIC_CHAT_MODEL: model},
            "priority": priority,
        }
        return {
            "PLATFORM_PROVIDERS": json.dumps(providers),
            "PLATFORM_GATEWAY": json.dumps(STACK_GATEWAY),
        }

    return env


# The vLLM emulator batches like vLLM (service/emulators/batching/): Llama-3.1-8B on one H100
# slowed 3.5 times, so an idle stack's inter-token gap stays ~20 ms (a Python emulator and the
# gateway relay every token on a small machine) while load, prompt length and the prefix cache
# show as they would. --max-num-seqs 16, as a deployment that bounds its batch for latency
# does (vLLM's own default is 1024 on an H100): the declared workload then saturates the
# engine at ~11 requests/s, a knee the suite's generator on a 2-core machine can reach and
# the capacity search can find (at 1024 it lies at ~97 requests/s, past what the machine
# drives and past the API's per-key rate limit, so no search here would find it).
VLLM_ENGINE_ARGS = ("--engine", "batching", "--time-scale", "3.5", "--max-num-seqs", "16")
VLLM_MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def _emulator(
    name: str, module: str, model: str, ready_path: str, priority: int, *extra: str
) -> AuxiliaryService:
    """An emulator of ``service/emulators/`` with its request log as ground truth."""

    def log(ctx: AuxiliaryContext) -> Path:
        return ctx.logs_dir / f"{name}-requests.jsonl"

    return AuxiliaryService(
        name=name,
        argv=lambda ctx: [
            ctx.python,
            "-m",
            module,
            "--host",
            "127.0.0.1",
            "--port",
            str(ctx.port),
            "--model",
            model,
            "--requests-log",
            str(log(ctx)),
            *extra,
        ],
        ready_path=ready_path,
        info=lambda ctx: {
            "url": ctx.url,
            "admin_url": f"{ctx.url}/_emulator",
            "model": model,
            "public_model": PUBLIC_CHAT_MODEL,
            "requests_log": str(log(ctx)),
        },
        service_env=_provider_env(name, model, priority),
    )


# The providers the platform routes chat to; wire-exact emulators (service/emulators/).
AUXILIARY_SERVICES: list[AuxiliaryService] = [
    _emulator("vllm", "service.emulators.vllm", VLLM_MODEL, "/health", 0, *VLLM_ENGINE_ARGS),
    _emulator("ollama", "service.emulators.ollama", "llama3.1:8b", "/api/version", 1),
]


def _allow_egress(ctx: AuxiliaryContext) -> dict[str, str]:
    from service.stack.egress import allow_egress  # egress.py imports this module

    return allow_egress(ctx)


def _site(
    name: str, module: str, extra_argv: list[str], env: Callable[[AuxiliaryContext], dict[str, str]]
) -> AuxiliaryService:
    """An external site the platform calls (arXiv, a robots.txt site): allowlisted for egress,
    request log as ground truth, faults via ``/_emulator/faults``."""

    def log(ctx: AuxiliaryContext) -> Path:
        return ctx.logs_dir / f"{name}-requests.jsonl"

    return AuxiliaryService(
        name=name,
        argv=lambda ctx: [
            ctx.python,
            "-m",
            module,
            "--host",
            "127.0.0.1",
            "--port",
            str(ctx.port),
            "--requests-log",
            str(log(ctx)),
            *extra_argv,
        ],
        ready_path="/health",
        info=lambda ctx: {
            "url": ctx.url,
            "admin_url": f"{ctx.url}/_emulator",
            "requests_log": str(log(ctx)),
        },
        service_env=lambda ctx: {**_allow_egress(ctx), **env(ctx)},
    )


# Ingestion's external sites. The reference policy polls arXiv continuously (a round every
# second, the shared 3 s cadence deciding when requests go out) so the cadence is exercised in
# seconds; a new paper appears every 20 s so polling keeps finding work.
AUXILIARY_SERVICES += [
    _site(
        "arxiv",
        "service.emulators.arxiv",
        ["--new-every-s", "20"],
        lambda ctx: {"PLATFORM_ARXIV_URL": ctx.url, "PLATFORM_ARXIV_POLL_INTERVAL_S": "1"},
    ),
    _site("robots", "service.emulators.robots", [], lambda ctx: {}),
]


def _github(ctx: AuxiliaryContext) -> list[str]:
    log = ctx.logs_dir / "github-requests.jsonl"
    return [
        ctx.python,
        "-m",
        "service.emulators.github",
        "--host",
        "127.0.0.1",
        "--port",
        str(ctx.port),
        "--requests-log",
        str(log),
    ]


# The issue tracker the suite reads user reports from (post24h.user-issues). The platform itself
# never calls it, so it gets no egress entry; readiness polls the admin state, which the request
# log and the rate limit leave out.
AUXILIARY_SERVICES.append(
    AuxiliaryService(
        name="github",
        argv=_github,
        ready_path="/_emulator/state",
        info=lambda ctx: {
            "url": ctx.url,
            "admin_url": f"{ctx.url}/_emulator",
            "repo": GITHUB_REPO,
            "requests_log": str(ctx.logs_dir / "github-requests.jsonl"),
        },
    )
)


def enabled_services() -> list[AuxiliaryService]:
    """The auxiliary services a stack boots, in registration order."""
    names = [service.name for service in AUXILIARY_SERVICES]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"auxiliary services registered twice: {sorted(duplicates)}")
    return [service for service in AUXILIARY_SERVICES if service.enabled]
