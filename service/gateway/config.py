"""Settings models of the gateway: which providers exist, which models they serve, how to fail over.

Kept apart from ``service.settings`` (which nests them) so the gateway's knobs and their reasons
live beside the code that reads them. Nothing here imports the rest of the service.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

ProviderKind = Literal["vllm", "ollama"]


class ProviderSettings(BaseModel):
    """One upstream server: its protocol, where it is, what it serves under which names."""

    model_config = ConfigDict(extra="forbid")

    kind: ProviderKind
    base_url: str = Field(description="e.g. http://vllm:8000 (no /v1) or http://ollama:11434")
    models: dict[str, str] = Field(
        description="public model name (what clients send) -> the provider's own model name"
    )
    priority: int = Field(
        default=100, description="routes without an explicit order try lower numbers first"
    )
    api_key: SecretStr | None = Field(default=None, description="vLLM --api-key, sent as Bearer")

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL: {value!r}")
        return value.rstrip("/")


class GatewaySettings(BaseModel):
    """Timeouts, retries and failover behaviour; defaults suit a GPU server on the same network."""

    model_config = ConfigDict(extra="forbid")

    connect_timeout_s: float = Field(
        default=2.0, gt=0, description="a provider that cannot accept a connection in 2 s is down"
    )
    first_byte_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="longest wait for the first streamed event (prefill of a long prompt)",
    )
    read_timeout_s: float = Field(
        default=60.0, gt=0, description="longest silence between two events once streaming"
    )
    retries: int = Field(
        default=1,
        ge=0,
        le=5,
        description="extra attempts on the same provider before failing over (before first byte)",
    )
    retry_backoff_s: float = Field(
        default=0.05,
        ge=0,
        description="pause before a retry on the same provider, doubled each time",
    )
    cooldown_s: float = Field(
        default=30.0,
        ge=0,
        description="a provider that failed is skipped this long, then used again once a probe"
        " succeeds",
    )
    probe_interval_s: float = Field(
        default=5.0, gt=0, description="how often every provider's health route is probed"
    )
    probe_timeout_s: float = Field(default=2.0, gt=0)
    max_tokens_cap: int = Field(
        default=32_768, ge=1, description="max_tokens above this is refused (400) before any call"
    )
    max_connections: int = Field(
        default=1_000, ge=1, description="pooled upstream connections (concurrent streams)"
    )
    resume_streams: bool = Field(
        default=True,
        description="a stream that breaks after content reached the client is continued by the"
        " route's next provider (the partial answer as a final assistant message) in the same"
        " client stream, instead of ending with an error event",
    )
    max_resumes: int = Field(
        default=2, ge=0, le=5, description="continuations one streamed request may use"
    )
    resume_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="longest stall of a broken stream while a continuation is found (from the"
        " break to the continuation's first event); past it the stream ends with an error event",
    )


def resolve_routes(
    providers: dict[str, ProviderSettings], routes: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Public model -> ordered provider names: explicit routes first, else by priority.

    Raises ValueError for a route naming an unknown provider or one not serving the model, so a
    broken mapping stops the service at start-up instead of failing requests later.
    """
    resolved: dict[str, list[str]] = {}
    models = sorted({model for p in providers.values() for model in p.models} | set(routes))
    for model in models:
        if model in routes:
            order = list(routes[model])
            unknown = [name for name in order if name not in providers]
            if unknown:
                raise ValueError(f"route of {model!r} names unknown providers {unknown}")
            not_serving = [name for name in order if model not in providers[name].models]
            if not_serving:
                raise ValueError(f"route of {model!r}: {not_serving} do not serve that model")
            if not order:
                raise ValueError(f"route of {model!r} is empty")
        else:
            serving = [(p.priority, name) for name, p in providers.items() if model in p.models]
            order = [name for _, name in sorted(serving)]
        resolved[model] = order
    return resolved
