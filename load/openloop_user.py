"""Locust's open-loop chat user: ``[workload]`` at its arrival process, a greenlet per arrival.

Locust's users are a closed loop (a user waits for its answer before its next request), which
under a slow target sends less and hides the very latencies it should measure. This user is a
scheduler instead (one per run, ``fixed_count = 1``): it plans the run (``load/plan.py``, so a
bad workload is refused before any request), then at each planned arrival spawns a greenlet that
sends that session's turns over a shared pool of keep-alive connections, never waiting for
earlier answers. The cap of ``max_in_flight`` streams is taken before a send is stamped, so a
send held back by it is late, and a run with too many late sends is judged invalid at the end
(``load/report.py``). When the schedule is done and its streams have ended (or were cut
``request_timeout_s`` per turn later), the user stops the run.

    locust -f load/openloop_locustfile.py --headless -t 5m --stack stack.json \\
        --arrival poisson --rate 8

It has its own locustfile: in ``load/locustfile.py`` it would join every run that names no user
class, and end that run when its schedule is done.
"""

from __future__ import annotations

import json
import logging
import time

import gevent
from gevent.lock import BoundedSemaphore
from gevent.pool import Group
from geventhttpclient import HTTPParseError
from locust import User, task
from locust.exception import StopUser

from load.chat_client import ChatConnection
from load.conversation import Conversation
from load.listeners import state_of
from load.plan import PlanError, RunPlan, SessionPlan, plan_run
from load.users import fire_stream, first_model

logger = logging.getLogger(__name__)
LEAD_S = 0.05  # the first arrival's distance from the schedule's zero (set-up is not late)


class OpenLoopChatUser(User):
    """The scheduler of an open-loop run (one per run, whatever -u says)."""

    fixed_count = 1

    def on_start(self) -> None:
        state = state_of(self.environment)
        self.workload = state.workload
        target = state.target
        in_flight = self.workload.max_in_flight
        self.http = ChatConnection(self.host or "", target.headers(), target.verify, in_flight)
        self.gate = BoundedSemaphore(in_flight)
        try:
            models: tuple[int, bytes] | None = self.http.get("/v1/models")
        except (OSError, HTTPParseError):  # not a measurement: the streams show it
            models = None
        self.model = target.model or first_model(models)
        self.plan: RunPlan | None = None
        try:
            self.plan = plan_run(self.workload)
        except PlanError as exc:
            logger.error("workload refused before sending: %s", exc)

    def on_stop(self) -> None:
        self.http.close()

    @task
    def run_schedule(self) -> None:
        if self.plan is None:
            self._quit()
            return
        self.t0 = time.perf_counter() + LEAD_S
        group = Group()
        for planned in self.plan.sessions:
            at = self.t0 + planned.offset_s
            gevent.sleep(max(0.0, at - time.perf_counter()))  # arrivals are points in time
            group.spawn(self._session, planned, at)
        turns = max(len(s.turns) for s in self.plan.sessions)
        tail = turns * (self.workload.request_timeout_s + self.workload.sessions.think_time_s)
        group.join(timeout=tail)
        if len(group):
            logger.error("%d sessions still open at the run's deadline: cut", len(group))
            group.kill(block=True, timeout=5)
        self._quit()

    def _session(self, plan: SessionPlan, scheduled: float) -> None:
        talk = Conversation(self.workload, plan, self.model)
        state = state_of(self.environment)
        for number in range(len(plan.turns)):
            if number:
                scheduled = talk.due(number, time.perf_counter(), self.t0)
                gevent.sleep(max(0.0, scheduled - time.perf_counter()))
            body = json.dumps(talk.body(number)).encode()  # encoded before the clock starts
            with self.gate:
                sent = time.perf_counter()
                result = self.http.stream(body, keep_content=talk.keep_answer(number))
            record = talk.record(
                result,
                number,
                scheduled_s=scheduled - self.t0,
                sent_s=sent - self.t0,
                open_loop=True,
            )
            state.add(record)
            fire_stream(self.environment, result)
            if not result.ok:
                return

    def _quit(self) -> None:
        """End the whole run, since the schedule is the run: quitting (in a greenlet of its
        own, as it stops every user) and this user stopping now, so the task never repeats."""
        runner = self.environment.runner
        if runner is not None:
            gevent.spawn(runner.quit)
        raise StopUser
