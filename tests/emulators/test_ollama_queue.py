"""The Ollama emulator's concurrency, through the official `ollama` client: OLLAMA_NUM_PARALLEL
requests generate at once, up to OLLAMA_MAX_QUEUE more wait in order, the rest get 503."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import ollama
import pytest

from service.emulators.ollama.slots import MAX_QUEUE_MESSAGE
from service.waiting import apoll_until
from tests.support.emulators import Emulator, running_emulator

pytestmark = pytest.mark.timeout(60)
MESSAGES = [{"role": "user", "content": "Why is the sky blue?"}]
# One answer takes about 0.05 + 19 x 0.05 = 1 s: long enough that five requests sent together
# all arrive while the first two are still generating, even on a busy machine.
TOKENS, ITL_MS = 20, 50


@pytest.fixture(scope="module")
def _queued_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    flags = ("--model", "llama3.2", "--ttft-ms", "50", "--itl-ms", str(ITL_MS))
    parallel = {"OLLAMA_NUM_PARALLEL": "2", "OLLAMA_MAX_QUEUE": "2"}  # read as Ollama reads them
    workdir = tmp_path_factory.mktemp("ollama-queue")
    with running_emulator(
        "ollama", workdir, *flags, "--output-tokens", str(TOKENS), env=parallel
    ) as emulator:
        yield emulator


@pytest.fixture
def queued(_queued_server: Emulator) -> Emulator:
    _queued_server.admin.post("/_emulator/reset").raise_for_status()
    return _queued_server


async def _chat(client: ollama.AsyncClient, n: int) -> str | int:
    """The streamed text, or the HTTP status of the refusal."""
    try:
        parts = [
            part.message.content or ""
            async for part in await client.chat(
                model="llama3.2", messages=MESSAGES, stream=True, options={"seed": n}
            )
        ]
    except ollama.ResponseError as exc:
        assert exc.error == MAX_QUEUE_MESSAGE
        return exc.status_code
    return "".join(parts)


def test_two_run_two_wait_one_is_refused(queued: Emulator) -> None:
    """Five at once: two answer right away, two after them (in order), one gets Ollama's 503."""

    async def main() -> list[str | int]:
        async with ollama.AsyncClient(host=queued.url) as client:
            return await asyncio.gather(*(_chat(client, n) for n in range(5)))

    results = asyncio.run(main())
    assert sorted(r for r in results if isinstance(r, int)) == [503]
    assert sum(isinstance(r, str) and len(r.split()) == TOKENS for r in results) == 4
    records = [r for r in queued.requests("/api/chat")]
    refused = [r for r in records if r["status"] == 503]
    served = sorted((r for r in records if r["status"] == 200), key=lambda r: r["queue_wait_ms"])
    assert len(refused) == 1 and refused[0]["fault"] == "queue_full"
    one_answer_ms = 50 + (TOKENS - 1) * ITL_MS
    assert [r["queue_wait_ms"] < one_answer_ms / 2 for r in served] == [True, True, False, False]
    for record in served[2:]:  # waited for a slot; TTFT counts from arrival, as a client sees it
        assert record["queue_wait_ms"] >= 0.8 * one_answer_ms
        assert record["ttft_ms"] >= record["queue_wait_ms"] + 50


def test_refusal_body_is_ollamas(queued: Emulator) -> None:
    """The 503 is plain JSON, before any NDJSON line, also for a streaming request."""

    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=queued.url, timeout=30) as http:
            body = {"model": "llama3.2", "messages": MESSAGES}
            return await asyncio.gather(*(http.post("/api/chat", json=body) for _ in range(5)))

    responses = asyncio.run(main())
    refused = [r for r in responses if r.status_code == 503]
    assert len(refused) == 1
    assert refused[0].headers["content-type"] == "application/json; charset=utf-8"
    assert refused[0].json() == {"error": MAX_QUEUE_MESSAGE}


async def _until_waiting(emulator: Emulator, count: int, timeout_s: float = 10.0) -> None:
    """Poll the emulator's state until `count` requests wait for a slot."""
    async with httpx.AsyncClient(base_url=emulator.url) as admin:

        async def waiting() -> bool:
            return bool((await admin.get("/_emulator/state")).json().get("waiting") == count)

        await apoll_until(waiting, timeout=timeout_s, interval=0.02, message=f"{count} waiting")


def test_client_leaving_the_queue_frees_its_place(queued: Emulator) -> None:
    """Queued requests whose clients give up do not hold slots: the next ones are served."""

    async def main() -> list[str | int]:
        async with ollama.AsyncClient(host=queued.url) as client:
            busy = [asyncio.ensure_future(_chat(client, n)) for n in range(2)]
            waiting = [asyncio.ensure_future(_chat(client, n)) for n in range(2, 4)]
            await _until_waiting(queued, 2)
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)
            # The server sees a cancelled client's disconnect a moment later (CI once sent the
            # next request first and got the full queue's 503): wait for the places to free.
            await _until_waiting(queued, 0)
            later = [await _chat(client, 9)]
            return [*(await asyncio.gather(*busy)), *later]

    results = asyncio.run(main())
    assert all(isinstance(r, str) and len(r.split()) == TOKENS for r in results), results


def test_client_leaving_a_whole_answer_frees_its_slot(queued: Emulator) -> None:
    """Non-streaming clients that time out release their slots at once (Go cancels the
    request), so the next request does not wait for answers nobody reads."""
    body = {"model": "llama3.2", "messages": MESSAGES, "stream": False}
    for _ in range(2):  # both slots
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{queued.url}/api/chat", json=body, timeout=httpx.Timeout(10, read=0.2))
    with ollama.Client(host=queued.url) as client:
        client.chat(model="llama3.2", messages=MESSAGES, stream=False, options={"seed": 7})
    records = queued.requests("/api/chat")
    assert [r["disconnected"] for r in records] == [True, True, False]
    assert records[-1]["queue_wait_ms"] < 500  # an answer takes ~1 s
