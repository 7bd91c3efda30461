"""The Ollama emulator against the official `ollama` client: its native API, exactly."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import ollama
import pytest

from tests.support.emulators import Emulator

pytestmark = pytest.mark.timeout(60)
MESSAGES = [{"role": "user", "content": "Why is the sky blue?"}]


@pytest.fixture
def client(ollama_server: Emulator) -> Iterator[ollama.Client]:
    """The official client, closed after the test (its sockets would leak otherwise)."""
    with ollama.Client(host=ollama_server.url) as api:
        yield api


def test_chat_stream_ndjson(ollama_server: Emulator, client: ollama.Client) -> None:
    """Streaming is the default: one line per token, then a done line with the counters."""
    parts = list(client.chat(model="llama3.2", messages=MESSAGES, stream=True))
    assert all(not p.done for p in parts[:-1])
    final = parts[-1]
    assert final.done and final.done_reason == "stop"
    assert final.message.content == ""
    assert final.eval_count == 12 == len(parts) - 1
    assert final.prompt_eval_count and final.total_duration and final.eval_duration
    assert final.total_duration > 50_000_000  # nanoseconds: at least the 50 ms TTFT
    assert final.model == "llama3.2"


def test_chat_without_stream_and_num_predict(
    ollama_server: Emulator, client: ollama.Client
) -> None:
    """stream=false answers one object; options.num_predict caps it with done_reason length."""
    whole = client.chat(model="llama3.2", messages=MESSAGES, stream=False)
    capped = client.chat(
        model="llama3.2:latest", messages=MESSAGES, stream=False, options={"num_predict": 4}
    )
    assert whole.done_reason == "stop" and len((whole.message.content or "").split()) == 12
    assert capped.done_reason == "length" and capped.eval_count == 4
    assert (whole.message.content or "").startswith(capped.message.content or "-")


def test_raw_stream_is_ndjson_with_go_field_order(
    ollama_server: Emulator, client: ollama.Client
) -> None:
    """Content type and key order as Ollama's Go structs serialise them."""
    with httpx.stream(
        "POST", f"{ollama_server.url}/api/chat", json={"model": "llama3.2", "messages": MESSAGES}
    ) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [line for line in response.iter_lines() if line]
    assert lines[0].startswith('{"model":"llama3.2","created_at":"')
    assert '"done_reason":"stop","done":true,"total_duration":' in lines[-1]


def test_list_ps_version_root(ollama_server: Emulator, client: ollama.Client) -> None:
    """Installed models, loaded models (after a chat), version and the root banner."""
    names = [m.model for m in client.list().models]
    assert names == ["llama3.2:latest", "qwen2.5:0.5b"]
    assert client.list().models[0].details.format == "gguf"  # type: ignore[union-attr]  # set
    assert client.ps().models == []
    client.chat(model="qwen2.5:0.5b", messages=MESSAGES, stream=False)
    assert [m.model for m in client.ps().models] == ["qwen2.5:0.5b"]
    assert httpx.get(f"{ollama_server.url}/api/version").json()["version"]
    root = httpx.get(f"{ollama_server.url}/")
    assert root.text == "Ollama is running"


def test_unknown_model_is_404(ollama_server: Emulator, client: ollama.Client) -> None:
    """Ollama's message for a model that is not pulled."""
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="nope", messages=MESSAGES, stream=False)
    assert caught.value.status_code == 404
    assert caught.value.error == 'model "nope" not found, try pulling it first'


def test_generate(ollama_server: Emulator, client: ollama.Client) -> None:
    """/api/generate streams "response" pieces and ends with a context."""
    parts = list(client.generate(model="llama3.2", prompt="hello", stream=True))
    assert "".join(p.response or "" for p in parts).split().__len__() == 12
    assert parts[-1].done and parts[-1].context


def test_faults_reach_the_client(ollama_server: Emulator, client: ollama.Client) -> None:
    """Injected errors, mid-stream errors and outages, as the client sees them."""
    ollama_server.configure(error_mid_stream=True, error_after_tokens=2)
    with pytest.raises(ollama.ResponseError):
        list(client.chat(model="llama3.2", messages=MESSAGES, stream=True))
    ollama_server.configure(error_mid_stream=False, error_rate=1.0, error_status=503)
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="llama3.2", messages=MESSAGES, stream=False)
    assert caught.value.status_code == 503
    ollama_server.configure(error_rate=0.0, outage="refuse")
    with pytest.raises(httpx.TransportError):  # a reset connection, not an HTTP answer
        client.list()
    ollama_server.configure(outage="none")
    assert client.list().models


def test_request_log_has_request_id(ollama_server: Emulator, client: ollama.Client) -> None:
    """The headers the platform sent are in the log (and in the JSON-lines file)."""
    with ollama.Client(host=ollama_server.url, headers={"X-Request-ID": "rid-9"}) as api:
        api.chat(model="llama3.2", messages=MESSAGES, stream=False)
    record = ollama_server.requests("/api/chat")[-1]
    assert record["request_id"] == "rid-9" and record["stream"] is False
    assert record["tokens"] == 12 and record["model"] == "llama3.2"
    assert "rid-9" in ollama_server.requests_log.read_text()
