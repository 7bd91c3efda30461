"""The client-facing checks fail when the ingress in front of a healthy API is misconfigured.

The service behind it is the reference one, unchanged: each case breaks only nginx, the way an
operator's ingress configuration goes wrong (``StackOptions.ingress_overrides``, the fields of
``service/stack/ingress_config.py`` ``IngressPolicy``). The checks judge what a client sees at
the public address, so each must fail, and for the cause the case introduced (its reason is
pinned, so a failure for another cause does not count).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.stack import StackOptions, StackSettings, running_stack
from tests.selftests.broken import failed, run_checks

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not any(map(shutil.which, StackSettings().nginx_binaries)),
        reason="nginx not installed (apt-get install nginx)",
    ),
]
# A record that is not there after 3 s will not come on a loopback stack.
QUICK_LOGS = "[observability]\nlog_wait_s = 3.0\n"


@dataclass(frozen=True)
class Misconfiguration:
    """An ingress policy gone wrong and, per item that must fail, a phrase of its reason."""

    name: str
    overrides: dict[str, str]
    reasons: dict[str, str]
    config: str = ""
    workers: int = 1


CASES = [
    Misconfiguration(
        "response buffering on for the chat stream",
        {"stream_buffering": "true"},
        # The whole stream arrives at once: the first token waits for the last. (The API asks
        # for no buffering, X-Accel-Buffering: no; this edge ignores that, as many do.)
        {"latency.ttft": "TTFT p50"},
    ),
    Misconfiguration(
        "header timeout left at nginx's 60 s",
        {"client_header_timeout_s": "60"},
        # The API's own 2 s deadline never sees the slow client: the ingress holds it.
        {"opsec.dos": "slow-header connection was still open"},
        config="[observability]\nslow_header_max_s = 5.0\n",
    ),
    Misconfiguration(
        "client's request id dropped",
        {"forward_request_id": "false"},
        {
            "logging.correlation-ids": "access record",
            "logging.access-detail": "access record of request",
            "opsec.access-logs": "have no access record",
        },
        config=QUICK_LOGS,
    ),
    Misconfiguration(
        "scheme not forwarded: the API sends no HSTS",
        {"forwarded_proto": "false"},
        {"protection.tls": "HSTS ''"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_client_facing_check_fails_on_misconfigured_ingress(
    case: Misconfiguration, tmp_path: Path
) -> None:
    """Through the misconfigured nginx, each of the case's items ends `fail` for its cause."""
    options = StackOptions(
        workers=case.workers,
        pollers=0,
        ingress="nginx",
        ingress_overrides=case.overrides,
        directory=tmp_path / "stack",
    )
    ids = list(case.reasons)
    with running_stack(options) as stack:
        assert stack.info.ingress.kind == "nginx"
        items = run_checks(stack.info.stack_json, ids, tmp_path, config=case.config)
    assert not failed(items, ids), failed(items, ids)
    wrong = {
        i: items[i]["reason"] for i, why in case.reasons.items() if why not in items[i]["reason"]
    }
    assert not wrong, wrong
