"""Checks strengthened after the mutation bench's survivors fail on the defect that survived.

Each case is a one-line change a release could make (the bench's mutant, or the change it
stands for) and the boxes that must now turn to ``fail``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.selftests.broken import failed, run_checks
from tests.selftests.mutated import Defect, defective_stack

CASES: dict[str, tuple[Defect | tuple[Defect, ...], list[str]]] = {
    # service.routers.jobs:76:arg_removal:3: the refusal of an admin-only kind lost its code
    "admin-only kind refused without a code": (
        Defect("service/routers/jobs.py", 'code="admin_only_kind",', "code=None,"),
        ["auth.admin-protected"],
    ),
    # service.jobs.kinds:86:arg_removal:3: an ordinary key may enqueue the probe kind
    "admin-only kind open to ordinary keys": (
        Defect("service/jobs/kinds.py", "run_probe, admin_only=True", "run_probe, admin_only=None"),
        ["auth.admin-protected"],
    ),
    # service.routers.webhooks:61:arg_removal:5: a signed JSON array crashes the handler (500)
    "webhook body not an object answered 500": (
        Defect(
            "service/routers/webhooks.py",
            'ApiError(422, "invalid_request_error", "body must be an object", code="invalid")',
            'ApiError(422, "body must be an object", code="invalid")',
        ),
        ["integrations.github-webhooks", "integrations.hf-webhooks"],
    ),
    # service.documents.status:41:string:0: /health's documents component renames its version
    "document store schema version not reported": (
        Defect("service/documents/status.py", '"schema_version": version,', '"version": version,'),
        ["data.schema-versions"],
    ),
    # service.documents.upload:77:augmented_assignment:0: the inflate budget is per stream
    "PDF inflate budget per stream, not in total": (
        Defect("service/documents/upload.py", "budget -= len(body)", "budget = len(body)"),
        ["protection.file-uploads"],
    ),
    # service.documents.upload:49:swap_op:0: NUL bytes pass when few other controls come along
    "text with NUL bytes accepted": (
        Defect(
            "service/documents/upload.py", '"\\x00" in text or sum(', '"\\x00" in text and sum('
        ),
        ["protection.file-uploads"],
    ),
    # service.gateway.schemas:51:arg_removal:1: any number of messages accepted
    "chat messages unbounded": (
        Defect(
            "service/gateway/schemas.py",
            "Field(min_length=1, max_length=10_000)",
            "Field(min_length=1, max_length=None)",
        ),
        ["protection.input-validation"],
    ),
    # service.gateway.ollama:29:string:4 and :158:string:1: the fallback's answers are wrong
    # (finish_reason "stop" at max_tokens; a completion without content)
    "fallback answers mislabelled": (
        Defect(
            "service/gateway/ollama.py",
            'FINISH = {"stop": "stop", "length": "length", "load": "stop"}',
            'FINISH = {"stop": "stop", "XXlengthXX": "length", "load": "stop"}',
        ),
        ["integrations.provider-failover"],
    ),
    "fallback answers empty": (
        Defect(
            "service/gateway/ollama.py",
            '"message": {"role": "assistant", "content": message.get("content", "")},',
            '"MESSAGE": {"role": "assistant", "content": message.get("content", "")},',
        ),
        ["integrations.provider-failover"],
    ),
    # service.gateway.relay:167:arg_removal:7: a resumed stream's usage forgets the first part
    "resumed stream undercounts usage": (
        Defect(
            "service/gateway/relay.py",
            "Resume(text, self._ident(), self.prompt_tokens, self.completion_tokens)",
            "Resume(text, self._ident(), self.prompt_tokens, )",
        ),
        ["integrations.provider-failover"],
    ),
    # service.gateway.core:159:remove_unary_ops:0: client errors failed over, outages not
    "provider's 400 failed over": (
        Defect("service/gateway/core.py", "if not exc.retryable:", "if exc.retryable:"),
        ["integrations.provider-failover"],
    ),
    # service.gateway.vllm:128:assignment:0: a completion names no model
    "completion without the requested model": (
        Defect(
            "service/gateway/vllm.py",
            '        data["model"] = call.public_model\n        usage',
            '        data["model"] = None\n        usage',
        ),
        ["endpoints.chat"],
    ),
    # service.gateway.vllm:101:arg_removal:3: the resumed part of a stream has another created
    "resumed stream changes its created": (
        Defect(
            "service/gateway/vllm.py",
            'int(data.get("created") or 0)',
            "int(data.get(None) or 0)",
        ),
        ["integrations.provider-failover"],
    ),
    # service.security.sandbox_child:125:swap_op:0: the write probe crashes before it writes,
    # and a crash read as "stopped"
    "sandbox write probe broken": (
        Defect(
            "service/security/sandbox_child.py",
            'target = Path("/tmp") / f"preflight-sandbox-escape',
            'target = Path("/tmp") * f"preflight-sandbox-escape',
        ),
        ["opsec.sandbox"],
    ),
    # service.ingest.health:21:arg_removal:2: /health's ingestion stamps lose their offset
    "ingestion stamps without time zone": (
        Defect(
            "service/ingest/health.py",
            "datetime.fromtimestamp(value, UTC)",
            "datetime.fromtimestamp(value, None)",
        ),
        ["data.recent-processed"],
    ),
    # service.ingest.health:30:if_exp:0: the age of the last poll is never computed
    "ingestion age never computed": (
        Defect(
            "service/ingest/health.py",
            "age = now - last_success if last_success else None",
            "age = now - last_success if (last_success) and False else None",
        ),
        ["data.recent-processed"],
    ),
    # service.ingest.arxiv:65:string:1: the poller asks arXiv without its query
    "arXiv asked without the query": (
        Defect(
            "service/ingest/arxiv.py",
            '"search_query": self.settings.arxiv_query,',
            '"SEARCH_QUERY": self.settings.arxiv_query,',
        ),
        ["data.recent-processed"],
    ),
    # service.ingest.jobs:55:arg_removal:3: ingestion jobs fail after storing their document
    "ingestion jobs fail after storing": (
        Defect(
            "service/ingest/jobs.py",
            'await stats.mark(redis, "job_last_completed")',
            "await stats.mark(redis, )",
        ),
        ["integrations.github-webhooks", "integrations.hf-webhooks"],
    ),
    # service.ingest.jobs:184:string:1: a fetched page is never stored
    "fetched pages never stored": (
        Defect("service/ingest/jobs.py", 'content=page["text"],', 'content=page["TEXT"],'),
        ["tos.robots"],
    ),
    # service.ingest.personal:74:assignment:0: a release event's release is dropped
    "GitHub release events lose the release": (
        Defect(
            "service/ingest/personal.py",
            'release = body.get("release") or {}',
            "release = None",
        ),
        ["integrations.github-webhooks"],
    ),
    # One boot, four defects of the job system, each caught by its own box:
    # service.jobs.heartbeat:42:string:0 (the operators' worker list answers 500),
    # service.jobs.metrics:108:arg_removal:6 (job histograms lose their queue label),
    # service.jobs.queue:246:arg_removal:0 (a finished job can be requeued and runs again),
    # service.routers.admin_jobs:108:string:1 (the new integrity route moved: 404)
    "job system: worker list, histogram labels, requeue, integrity route": (
        (
            Defect("service/jobs/heartbeat.py", '"jobs_done": self.jobs_done,', '"XX": 0,'),
            Defect(
                "service/jobs/metrics.py",
                'hists[name].add_metric(labels.split("|"), items',
                "hists[name].add_metric(labels.split(None), items",
            ),
            Defect(
                "service/jobs/queue.py",
                '    outcome = text(reply[0])\n    if outcome == "missing"',
                '    outcome = text(None)\n    if outcome == "missing"',
            ),
            Defect(
                "service/routers/admin_jobs.py",
                '@router.get("/jobs/integrity"',
                '@router.get("/JOBS/INTEGRITY"',
            ),
        ),
        ["health.workers", "metrics.queue", "queue.dead-letter", "data.db-integrity"],
    ),
    # A break mid-answer closed as if the answer were complete (finish "length", [DONE]) when
    # no provider can resume it: the fallback's broken answer reaches the client as a whole one
    "broken fallback answer closed as complete": (
        Defect(
            "service/gateway/relay.py",
            "if self.finished or self._left() == 0:",
            "if self.finished or self._left() >= 0:",
        ),
        ["integrations.provider-failover"],
    ),
    # service.routers.webhooks:94:arg_removal:4 and :126: the webhooks' 202 not documented
    "webhook acceptance not declared": (
        (
            Defect(
                "service/routers/webhooks.py",
                '@router.post("/github", status_code=202,',
                '@router.post("/github",',
            ),
            Defect(
                "service/routers/webhooks.py",
                '@router.post("/huggingface", status_code=202,',
                '@router.post("/huggingface",',
            ),
        ),
        ["integrations.github-webhooks", "integrations.hf-webhooks"],
    ),
    # One boot, five defects caught by five boxes:
    # service.jobs.worker_metrics:70:arg_removal:0 (the workers' figures vanish from /metrics),
    # service.routers.chat:79:string:0 (/v1/models is not OpenAI's list object),
    # service.routers.ingest_admin:73:string:2 (erasure leaves the subject in job results),
    # service.routers.admin_jobs:42:arg_removal:8 (requeue's 404 not in the OpenAPI document),
    # service.routers.admin_jobs:99:arg_removal:10 (resume's 403 not in the OpenAPI document)
    "worker figures, model list, erasure, undeclared refusals": (
        (
            Defect(
                "service/jobs/worker_metrics.py",
                "self._client.mget([c.heartbeat_key(i) for i in ids])",
                "self._client.mget(None)",
            ),
            Defect("service/routers/chat.py", '"object": "list",', '"XXobjectXX": "list",'),
            Defect(
                "service/routers/ingest_admin.py",
                'mapping={"payload": ERASED, "result": ERASED}',
                'mapping={"payload": ERASED, "XXresultXX": ERASED}',
            ),
            Defect(
                "service/routers/admin_jobs.py",
                "responses=error_responses(401, 403, 404, 409, 422, 429)",
                "responses=error_responses(401, 403, 409, 422, 429)",
            ),
            Defect(
                "service/routers/admin_jobs.py",
                '"/queues/resume", response_model=Queues, responses=error_responses(401, 403, 422)',
                '"/queues/resume", response_model=Queues, responses=error_responses(401, 422)',
            ),
        ),
        [
            "health.workers",
            "endpoints.chat",
            "datahandling.personal-data",
            "queue.dead-letter",
            "auth.admin-protected",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_fails_on_surviving_defect(case: str, tmp_path: Path) -> None:
    defect, ids = CASES[case]
    with defective_stack(defect, tmp_path) as stack_json:
        items = run_checks(stack_json, ids, tmp_path)
    assert not failed(items, ids), f"{case}: {failed(items, ids)}"
