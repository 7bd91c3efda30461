"""load/prompts.py: prompts of exactly the asked token count, as the emulators count them."""

from __future__ import annotations

from load.prompts import (
    MIN_MESSAGE_TOKENS,
    prefix_message,
    prompt_tokens,
    user_message,
)
from service.emulators.tokens import chat_prompt


def test_message_counts_exactly_as_the_emulator_does() -> None:
    """The emulator's own prompt count (what its usage reports) equals the asked length."""
    for tokens in (MIN_MESSAGE_TOKENS, 6, 37, 512, 3000):
        message = user_message(0, 1, 0, tokens)
        assert chat_prompt([message], continue_final=False).tokens == tokens
        assert prompt_tokens([message]) == tokens


def test_conversation_counts_add_up() -> None:
    """Prefix + history + question: the server counts the sum of the messages."""
    messages = [
        prefix_message(0, 1, 100),
        user_message(0, 3, 0, 50),
        {"role": "assistant", "content": "the model weights attention"},
        user_message(0, 3, 1, 40),
    ]
    assert prompt_tokens(messages) == 100 + 50 + (4 + 4) + 40


def test_deterministic_and_distinct() -> None:
    """The same key gives the same text in any order; sessions and turns differ; a prefix
    group is one text for everyone."""
    assert user_message(5, 2, 1, 80) == user_message(5, 2, 1, 80)
    assert user_message(5, 2, 1, 80) != user_message(5, 3, 1, 80)
    assert user_message(5, 2, 1, 80) != user_message(5, 2, 0, 80)
    assert user_message(5, 2, 1, 80) != user_message(6, 2, 1, 80)
    assert prefix_message(5, 0, 64) == prefix_message(5, 0, 64) != prefix_message(5, 1, 64)
