"""One planned session as requests: the messages of each turn, when it is due, its record.

Shared by the asyncio driver (``load/openloop.py``) and Locust's open-loop user
(``load/openloop_user.py``), which differ only in how they wait and send; so a request, its
schedule and its raw record are the same whichever tool sent it.
"""

from __future__ import annotations

from typing import Any

from load.plan import SessionPlan
from load.prompts import prefix_message, prompt_tokens, user_message
from load.streaming import StreamResult, chat_body
from load.workload import WorkloadSettings


class Conversation:
    """The state of one session: the history carried into its next turn."""

    def __init__(self, workload: WorkloadSettings, plan: SessionPlan, model: str) -> None:
        self.workload, self.plan, self.model = workload, plan, model
        self.carried: list[dict[str, str]] = []
        if plan.prefix_group is not None:
            self.carried.append(
                prefix_message(workload.seed, plan.prefix_group, workload.prefix.tokens)
            )
        self._question: dict[str, str] = {}
        self._messages: list[dict[str, str]] = []

    def due(self, number: int, answered_at: float, t0: float) -> float:
        """When a later turn is due (clock seconds): its trace offset, but never before the
        previous answer plus the think time (it carries that answer)."""
        after = answered_at + self.workload.sessions.think_time_s
        own = self.plan.turns[number].offset_s
        return after if own is None else max(t0 + own, after)

    def body(self, number: int) -> dict[str, Any]:
        """The request of turn ``number`` (a streaming chat completion asking for usage)."""
        turn = self.plan.turns[number]
        seed = self.workload.seed
        self._question = user_message(seed, self.plan.index, number, turn.input_tokens)
        self._messages = [*self.carried, self._question]
        body = chat_body(self.model, turn.output_tokens)
        body["messages"] = self._messages
        if self.workload.ignore_eos:
            body["ignore_eos"] = True
        return body

    def keep_answer(self, number: int) -> bool:
        """Whether turn ``number``'s answer text is needed (a later turn carries it)."""
        return self.workload.sessions.history and number + 1 < len(self.plan.turns)

    def record(
        self,
        result: StreamResult,
        number: int,
        *,
        scheduled_s: float,
        sent_s: float,
        open_loop: bool,
    ) -> dict[str, Any]:
        """The raw record of the turn just sent (times in seconds from the run's zero); also
        carries its question and answer into the history."""
        turn = self.plan.turns[number]
        record = result.to_record()
        content = record.pop("content", None)
        record.update(
            name="chat",
            session=self.plan.index,
            turn=number,
            prefix_group=self.plan.prefix_group,
            asked_input_tokens=turn.input_tokens,
            asked_prompt_tokens=prompt_tokens(self._messages),
            asked_output_tokens=turn.output_tokens,
            scheduled_s=scheduled_s,
            sent_s=sent_s,
            lateness_ms=max(0.0, (sent_s - scheduled_s) * 1000) if open_loop else None,
            warmup=scheduled_s < self.workload.warmup_s,
        )
        if result.ok and self.workload.sessions.history:
            self.carried += [self._question, {"role": "assistant", "content": content or ""}]
        return record
