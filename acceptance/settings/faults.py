"""How the suite breaks a deployment on purpose: the ``[faults]`` table of ``preflight.toml``.

The suite cannot start, stop or signal a deployment's processes; the operator names hooks that
do (``kubectl scale deploy/vllm --replicas=0``, a feature flag's HTTP API, a drain). Each hook is
a command or an HTTP call. The reference stack's own hooks (its emulators' admin routes, its
worker control) are built as the same models (``acceptance/support/faults.py``), so a
self-booted run and an external one take the same code path.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

HOOKS = (
    "provider_down",
    "provider_up",
    "workers_down",
    "workers_up",
    "arxiv_down",
    "arxiv_up",
    "site_down",
    "site_up",
    "start_without_secrets",
)
# Hook headers carry credentials: accepted from PREFLIGHT_FAULTS__<HOOK>__HEADERS__<NAME> only.
ENVIRONMENT_ONLY = "headers"


class FaultHook(BaseModel):
    """One action: a command (``command``) or an HTTP call (``url``), never both.

    Placeholders (``{provider}``, ``{model}``; ``{status}``, ``{retry_after_s}``, ``{count}``,
    ``{path_prefix}`` for the arXiv and site faults) are replaced in the command's arguments,
    the URL and the string values of the JSON body; nothing else in them is interpreted.
    """

    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(
        default=None, description="run without a shell (shlex split) unless shell = true"
    )
    shell: bool = Field(default=False, description="run the command with /bin/sh -c")
    url: str | None = Field(default=None, description="HTTP call instead of a command")
    method: str = Field(default="POST", description="HTTP method of the call. Default: 'POST'")
    body: dict[str, Any] | None = Field(default=None, description="JSON body of the call")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="headers of the call; environment only "
        "(PREFLIGHT_FAULTS__<HOOK>__HEADERS__<NAME>), refused in the file",
    )

    @model_validator(mode="after")
    def _one_action(self) -> FaultHook:
        if (self.command is None) == (self.url is None):
            raise ValueError("a fault hook needs exactly one of command and url")
        return self


class FaultSettings(BaseModel):
    """``SuiteConfig.faults``; every default is repeated in the repository's preflight.toml."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="a hook that has not finished by then is killed (its process group) and "
        "the check is not verified. Default: 30.0",
    )
    provider_down: FaultHook | None = Field(
        default=None,
        description="takes the primary provider of the chat model down ({provider}, {model}); "
        "None: the reference stack's emulator admin route, else not verified. Default: None",
    )
    provider_up: FaultHook | None = Field(
        default=None, description="brings it back; needed with provider_down. Default: None"
    )
    workers_down: FaultHook | None = Field(
        default=None,
        description="stops every worker (scale to zero, SIGSTOP); None: the reference stack's "
        "worker processes are stopped, else not verified. Default: None",
    )
    workers_up: FaultHook | None = Field(
        default=None, description="starts them again; needed with workers_down. Default: None"
    )
    arxiv_down: FaultHook | None = Field(
        default=None,
        description="makes arXiv (the platform's arXiv endpoint) answer {status} with "
        "Retry-After {retry_after_s}, {count} times; None: the reference stack's arXiv emulator, "
        "else not verified. Default: None",
    )
    arxiv_up: FaultHook | None = Field(
        default=None, description="clears that fault; needed with arxiv_down. Default: None"
    )
    site_down: FaultHook | None = Field(
        default=None,
        description="makes the site of [ingestion] robots_site_url answer {status} with "
        "Retry-After {retry_after_s} under {path_prefix}, {count} times; None: the reference "
        "stack's robots site emulator, else not verified. Default: None",
    )
    site_up: FaultHook | None = Field(
        default=None, description="clears that fault; needed with site_down. Default: None"
    )
    start_without_secrets: FaultHook | None = Field(
        default=None,
        description="a command that starts the release as deployed but without its API keys "
        "and ends with the service's exit status and output (config.secrets: it must refuse to "
        "start); None: the reference stack's (service.stack.control), else not verified. "
        "Default: None",
    )


def secrets_in_file(table: object) -> list[str]:
    """``[faults.<hook>] headers`` present in a parsed ``[faults]`` table (should be none)."""
    if not isinstance(table, dict):
        return []
    return [
        name
        for name in HOOKS
        if isinstance(table.get(name), dict) and ENVIRONMENT_ONLY in table[name]
    ]
