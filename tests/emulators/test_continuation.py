"""Continuing a final assistant message, as vLLM (`continue_final_message`) and Ollama do it.

The gateway resumes a broken stream this way, so the emulators must accept exactly what the real
servers accept, refuse what they refuse, and go on from where the partial answer ends.
"""

from __future__ import annotations

from typing import Any

import httpx
import ollama
import openai
import pytest

from service.emulators.vllm.chat import BOTH_FLAGS, TEMPLATE_CONFLICT
from tests.emulators.test_vllm import MESSAGES, MODEL, client
from tests.support.emulators import Emulator

pytestmark = pytest.mark.timeout(60)
CONTINUE = {"continue_final_message": True, "add_generation_prompt": False}


def _partial(whole: str, tokens: int) -> str:
    """The first `tokens` tokens of an answer (every emulated token is one word)."""
    words = whole.split(" ")
    return " ".join(words[:tokens])


def test_both_flags_refused_like_vllm(vllm: Emulator) -> None:
    """continue_final_message with add_generation_prompt true is vLLM's validation error."""
    body = {
        "model": MODEL,
        "messages": MESSAGES,
        "continue_final_message": True,
        "add_generation_prompt": True,
    }
    response = httpx.post(f"{vllm.url}/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == BOTH_FLAGS
    assert response.json()["type"] == "BadRequestError"


def test_continue_without_switching_generation_prompt_off_fails(vllm: Emulator) -> None:
    """add_generation_prompt defaults to true: the chat template refuses the combination."""
    with client(vllm) as api, pytest.raises(openai.BadRequestError) as raised:
        api.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_body={"continue_final_message": True}
        )
    assert TEMPLATE_CONFLICT in str(raised.value)
    assert vllm.requests("/v1/chat/completions")[-1]["status"] == 400


def test_vllm_stream_continues_the_partial_answer(vllm: Emulator) -> None:
    """The continuation is the rest of the uninterrupted answer, under the final message's
    role, counting only the new tokens as completion."""
    with client(vllm) as api:
        whole = api.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0]
        text = whole.message.content or ""
        partial = _partial(text, 7)
        messages: list[Any] = [*MESSAGES, {"role": "assistant", "content": partial}]
        stream = api.chat.completions.create(
            model=MODEL,
            messages=messages,
            stream=True,
            extra_body=CONTINUE,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    rest = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert partial + rest == text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 13
    assert vllm.requests("/v1/chat/completions")[-1]["continued_tokens"] == 7


def test_vllm_whole_answer_continues_and_caps(vllm: Emulator) -> None:
    """Not streamed: the rest of the answer; max_tokens counts the new tokens only."""
    with client(vllm) as api:
        text = api.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message
        partial = _partial(text.content or "", 5)
        messages: list[Any] = [*MESSAGES, {"role": "assistant", "content": partial}]
        rest = api.chat.completions.create(
            model=MODEL, messages=messages, max_tokens=4, extra_body=CONTINUE
        ).choices[0]
    assert rest.finish_reason == "length"
    assert partial + (rest.message.content or "") == _partial(text.content or "", 9)


def test_ollama_continues_a_final_assistant_message(ollama_server: Emulator) -> None:
    """/api/chat opens no new turn after a final assistant message: the model goes on."""
    with ollama.Client(host=ollama_server.url) as api:
        whole = api.chat(model="llama3.2", messages=MESSAGES, stream=False).message.content or ""
        partial = _partial(whole, 4)
        messages = [*MESSAGES, {"role": "assistant", "content": partial}]
        parts = list(api.chat(model="llama3.2", messages=messages, stream=True))
    rest = "".join(p.message.content or "" for p in parts)
    assert partial + rest == whole
    assert parts[-1].done and parts[-1].eval_count == 8
    assert ollama_server.requests("/api/chat")[-1]["continued_tokens"] == 4
