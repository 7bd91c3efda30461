"""Locust users: streaming chat, enqueue (hot/backfill mix), search.

The chat user measures with ``load.streaming.StreamMeter`` (the same code as the pytest latency
checks, which read with httpx) over geventhttpclient (``load/chat_client.py``: httpx under gevent
cost too much CPU per read at 64 streams), and puts its figures into Locust's stats as extra
entries ("TTFT", "ITL", "TPS" request types), so they appear in the console, ``--csv`` and
``--html``. The raw samples behind them go to the per-process sample file; SLOs are judged on
those.
"""

from __future__ import annotations

import json
import random
import statistics
from collections import deque
from collections.abc import Callable
from typing import Any

from geventhttpclient import HTTPParseError
from locust import HttpUser, User, between, task
from locust.env import Environment

from load.chat_client import ChatConnection
from load.listeners import CHAT_CONTEXT, state_of
from load.streaming import StreamResult, chat_body

SEARCH_QUERIES = ("attention", "transformer", "diffusion", "retrieval", "quantization", "llama")


class ChatUser(User):
    """One stream in flight per user (closed loop): N users = N concurrent streams."""

    # After a failure wait a second: a refusing target (429, outage) must not be hammered in a
    # tight loop that also floods the stats with thousands of instant errors.
    FAILURE_PAUSE_S = 1.0

    def wait_time(self) -> float:
        return self.FAILURE_PAUSE_S if self.last_failed else 0.0

    def on_start(self) -> None:
        self.last_failed = False
        target = state_of(self.environment).target
        self.http = ChatConnection(self.host or "", target.headers(), target.verify)
        # Pre-warm: the TCP and TLS handshakes happen here, not inside the first TTFT.
        try:
            models: tuple[int, bytes] | None = self.http.get("/v1/models")
        except (OSError, HTTPParseError):  # not a measurement: the first stream shows it
            models = None
        model = target.model or first_model(models)
        # Encoded once: only sending it is inside the measured time.
        self.body = json.dumps(chat_body(model, target.max_tokens)).encode()

    def on_stop(self) -> None:
        self.http.close()

    @task
    def chat(self) -> None:
        result = self.http.stream(self.body)
        state_of(self.environment).add(result.to_record() | {"name": "chat"})
        self.last_failed = not result.ok
        fire_stream(self.environment, result)


def fire_stream(environment: Environment, result: StreamResult) -> None:
    """A stream's entries in Locust's stats: the request, and its TTFT, ITL and TPS."""
    fire: Callable[..., None] = environment.events.request.fire  # EventHook is untyped
    failure = None if result.ok else RuntimeError(result.error or f"HTTP {result.status}")
    fire(
        request_type="POST",
        name="chat",
        response_time=result.e2e_ms,
        response_length=result.bytes_received,
        exception=failure,
        context={CHAT_CONTEXT: True},
    )
    if not result.ok:
        return
    n = result.output_tokens
    if result.ttft_ms is not None:
        fire(
            request_type="TTFT",
            name="chat",
            response_time=result.ttft_ms,
            response_length=n,
            exception=None,
            context={},
        )
    if result.itl_ms:  # one entry per stream (its mean gap): all gaps are in the samples
        fire(
            request_type="ITL",
            name="chat",
            response_time=statistics.fmean(result.itl_ms),
            response_length=n,
            exception=None,
            context={},
        )
    if result.decode_tokens_per_s is not None:  # the "ms" columns read as tokens/s here
        fire(
            request_type="TPS",
            name="chat",
            response_time=result.decode_tokens_per_s,
            response_length=n,
            exception=None,
            context={},
        )


def first_model(models: tuple[int, bytes] | None) -> str:
    """The first model of a /v1/models answer, else \"default\"."""
    if models is None or models[0] != 200:
        return "default"  # the request then fails visibly with the target's own error
    try:
        return str(json.loads(models[1])["data"][0]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        return "default"  # the request then fails visibly with the target's own error


class _ApiUser(HttpUser):
    """Authenticated, TLS-verified HttpUser whose connection is opened before measuring."""

    abstract = True
    # A person between requests, not a benchmark loop: keeps a few users under the per-key limit.
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        target = state_of(self.environment).target
        self.client.headers.update(target.headers())
        if target.ca_file is not None:
            self.client.verify = str(target.ca_file)
        self.client.get("/health/live", name="warmup")


class EnqueueUser(_ApiUser):
    """Enqueues no-op jobs, hot or backfill by weight, and reads back their status."""

    def on_start(self) -> None:
        super().on_start()
        target = state_of(self.environment).target
        self.weights = [target.hot_weight, target.backfill_weight]
        self.job_ids: deque[str] = deque(maxlen=100)

    @task(4)
    def enqueue(self) -> None:
        queue = random.choices(["hot", "backfill"], weights=self.weights)[0]  # noqa: S311 - load mix, not security
        with self.client.post(
            "/enqueue", json={"kind": "noop", "queue": queue}, name="enqueue", catch_response=True
        ) as response:
            if response.status_code != 202:
                response.failure(f"HTTP {response.status_code}")
                return
            body: dict[str, Any] = response.json()
            self.job_ids.append(str(body["job_id"]))

    @task(1)
    def status(self) -> None:
        if self.job_ids:
            job_id = random.choice(self.job_ids)  # noqa: S311 - load mix, not security
            self.client.get(f"/status/{job_id}", name="status")


class SearchUser(_ApiUser):
    """Full-text search; until the target has /search its 404s count as errors."""

    @task
    def search(self) -> None:
        query = random.choice(SEARCH_QUERIES)  # noqa: S311 - load mix, not security
        self.client.get("/search", params={"q": query}, name="search")
