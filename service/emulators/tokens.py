"""Deterministic "model output": the same prompt always yields the same tokens.

Ground-truth checks compare what the platform relayed with what the emulator sent, so output
must be reproducible from the prompt alone (and the seed), never from time or randomness.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_VOCABULARY = (
    "the model weights attention layer token batch cache query value key prompt stream "
    "gradient tensor kernel sample decode prefill latency paper dataset result method graph "
    "signal vector matrix sparse dense head block shard rank loss step epoch score metric"
)
_WORDS = _VOCABULARY.split()

# One BPE-ish token per word or punctuation mark: close enough to a tokenizer for counting.
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
# Chat templates add a few tokens per message (role markers); vLLM counts them as prompt tokens.
_TEMPLATE_TOKENS_PER_MESSAGE = 4


def message_text(message: Mapping[str, Any]) -> str:
    """Text of one chat message; OpenAI content may be a list of typed parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def prompt_of(messages: Iterable[Mapping[str, Any]]) -> tuple[str, int]:
    """The concatenated prompt and its token count under a chat template."""
    parts: list[str] = []
    count = 0
    for message in messages:
        text = message_text(message)
        parts.append(f"{message.get('role', '')}: {text}")
        count += len(_TOKEN_RE.findall(text)) + _TEMPLATE_TOKENS_PER_MESSAGE
    return "\n".join(parts), count


def chat_tokens(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """The prompt as a token sequence, as long as `prompt_of` counts it: the batching engine
    keys its prefix cache by these (a shared system prompt is a shared prefix)."""
    tokens: list[str] = []
    for message in messages:
        role = str(message.get("role", ""))
        # The template's tokens around each message (_TEMPLATE_TOKENS_PER_MESSAGE of them).
        tokens += ["<|start|>", role, "<|sep|>"]
        tokens += _TOKEN_RE.findall(message_text(message))
        tokens.append("<|end|>")
    return tokens


def count_tokens(text: str) -> int:
    return len(_TOKEN_RE.findall(text))


@dataclass(frozen=True)
class Prompt:
    """What an answer is derived from, and how much of that answer is already written."""

    text: str  # the conversation the answer belongs to
    tokens: int  # prompt tokens as the server counts them: everything it was sent
    offset: int = 0  # tokens of the answer already in the request (a continued final message)


def chat_prompt(messages: Sequence[Mapping[str, Any]], *, continue_final: bool) -> Prompt:
    """The prompt of a chat request; with `continue_final` its last message is the start of
    the answer (a prefill, or a stream broken elsewhere and resumed here), not a question.

    A continued answer goes on exactly as the uninterrupted one would have: tokens `offset`
    onwards of the answer to the conversation before the final message. That is what a model
    decoding greedily does with a prefix of its own answer, and it lets a check compare a
    stream resumed on another provider with one that never broke.
    """
    text, tokens = prompt_of(messages)
    if not continue_final or not messages:
        return Prompt(text, tokens)
    before, _ = prompt_of(messages[:-1])
    return Prompt(before, tokens, count_tokens(message_text(messages[-1])))


def generate(prompt: str, n: int, seed: int = 0, *, offset: int = 0) -> list[str]:
    """Tokens `offset` .. `offset + n - 1` of the answer to `prompt`; each token after the
    answer's first carries its leading space."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    start = int.from_bytes(digest[:8], "big")
    step = 1 + 2 * (digest[8] % 16)  # odd, so the walk visits every word
    tokens = []
    for i in range(offset, offset + n):
        word = _WORDS[(start + i * step) % len(_WORDS)]
        tokens.append(word if i == 0 else " " + word)
    return tokens


def chunked(tokens: list[str], per_chunk: int) -> list[str]:
    """Group tokens as a batching server would flush them: `per_chunk` tokens per write."""
    return ["".join(tokens[i : i + per_chunk]) for i in range(0, len(tokens), per_chunk)]
