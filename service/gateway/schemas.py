"""The request body of ``POST /v1/chat/completions`` as the gateway validates it.

Only what the gateway must understand is typed (model, messages, stream, token caps, sampling);
every other OpenAI parameter is kept (``extra="allow"``) and forwarded to vLLM untouched, so a
client using a newer parameter is not refused by the gateway for vLLM to answer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ContentPart(BaseModel):
    """One part of a multi-part message; only text parts reach Ollama."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None

    def text(self) -> str:
        """The message as plain text (parts joined), which is all Ollama's chat API takes."""
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool | None = None
    continuous_usage_stats: bool | None = None  # vLLM's: usage in every chunk


class ChatRequest(BaseModel):
    """OpenAI chat completion request; unknown fields are forwarded to vLLM."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=256)
    messages: list[ChatMessage] = Field(min_length=1, max_length=10_000)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)

    @property
    def token_cap(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def wants_usage(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)

    @property
    def wants_continuous_usage(self) -> bool:
        options = self.stream_options
        return bool(self.wants_usage and options and options.continuous_usage_stats)

    @property
    def resumable(self) -> bool:
        """Whether a broken stream of this request can be continued elsewhere: one answer of
        plain text (several choices, or tool calls, have no single partial text to continue)."""
        extra = self.model_extra or {}
        return extra.get("n") in (None, 1) and not (extra.get("tools") or extra.get("functions"))

    def continued(self, text: str, left: int | None) -> ChatRequest:
        """This request continuing the partial answer `text` (a final assistant message) with
        at most `left` more tokens (None: the request had no cap)."""
        update: dict[str, Any] = {}
        if text:
            update["messages"] = [*self.messages, ChatMessage(role="assistant", content=text)]
        if self.max_completion_tokens is not None:
            update["max_completion_tokens"] = left
        if self.max_tokens is not None:
            update["max_tokens"] = left
        return self.model_copy(update=update)

    def upstream_body(self, provider_model: str) -> dict[str, Any]:
        """The body for an OpenAI-compatible upstream: the provider's model name, and usage
        always requested when streaming (the gateway counts tokens from it)."""
        body = self.model_dump(exclude_unset=True, exclude_none=True)
        body["model"] = provider_model
        if self.stream:
            options = dict(body.get("stream_options") or {})
            options["include_usage"] = True
            body["stream_options"] = options
        return body
