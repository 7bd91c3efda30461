"""Deterministic prompts of an exact token count, as the emulators count tokens.

The emulators (``service/emulators/tokens.py``) count one token per word or punctuation mark
plus a few template tokens per chat message, which is what ``usage.prompt_tokens`` then says. A
message built here from N - overhead plain words therefore counts exactly N tokens there, and the
counting itself is that module's function, not a copy of its rule. The words are common English
words that real BPE tokenizers also keep as one token each, so against a real vLLM the count is
close, and the difference shows in the achieved lengths reported beside the requested ones.

Text depends only on a key string (seed, kind, index), never on the order requests are built in,
so a request is the same in every run and in every process.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from service.emulators.tokens import prompt_of

# Single-token words in the GPT-2/Llama/Qwen vocabularies (with their leading space).
_WORDS = (
    "time year people way day man thing woman life child world school state family student "
    "group country problem hand part place case week company system program question work "
    "government number night point home water room mother area money story fact month lot "
    "right study book eye job word business issue side kind head house service friend father "
    "power hour game line end member law car city community name team minute idea kid body "
    "information back parent face others level office door health person art war history "
    "party result change morning reason research girl guy moment air teacher force education "
    "good new first last long great little own other old big high different small large next "
    "early young important few public bad same able find give tell call keep begin seem help "
    "show hear play run move live believe bring happen write provide sit stand lose pay meet "
    "include continue set learn lead understand watch follow stop create speak read allow add"
)
VOCABULARY = tuple(_WORDS.split())
# Tokens the chat template adds per message (role markers), as the emulators count them.
MESSAGE_OVERHEAD = prompt_of([{"role": "user", "content": ""}])[1]
# The shortest message that still carries one word of its own.
MIN_MESSAGE_TOKENS = MESSAGE_OVERHEAD + 1


def words(count: int, key: str) -> str:
    """``count`` words chosen by a generator seeded with ``key`` (the same key, the same text)."""
    rng = random.Random(key)  # noqa: S311 - reproducible text, not security
    return " ".join(rng.choice(VOCABULARY) for _ in range(count))


def message(role: str, tokens: int, key: str) -> dict[str, str]:
    """A chat message that counts ``tokens`` prompt tokens, template tokens included."""
    if tokens < MIN_MESSAGE_TOKENS:
        raise ValueError(f"a message needs at least {MIN_MESSAGE_TOKENS} tokens, got {tokens}")
    return {"role": role, "content": words(tokens - MESSAGE_OVERHEAD, key)}


def prefix_message(seed: int, group: int, tokens: int) -> dict[str, str]:
    """The shared system prompt of a prefix group: identical for every request of the group."""
    return message("system", tokens, f"{seed}/prefix/{group}")


def user_message(seed: int, session: int, turn: int, tokens: int) -> dict[str, str]:
    """A turn's own question; distinct per (session, turn), so only prefixes are shared."""
    return message("user", tokens, f"{seed}/user/{session}/{turn}")


def prompt_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """Prompt tokens of a conversation as the emulators count (and report in ``usage``)."""
    return prompt_of(messages)[1]
