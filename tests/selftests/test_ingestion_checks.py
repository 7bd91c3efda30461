"""The ingestion checks fail on stacks broken the way each guards (and pass on a healthy one).

Two broken stacks keep the runtime down: one whose three pollers keep the arXiv cadence per
process only (``arxiv_rate_state=local``) and whose three workers keep external sites' rate
limits per process only (``outbound_rate_state=local``), and one with every other safeguard
switched off at once: webhook authentication, robots.txt, pseudonymisation, the sandbox, and no
poller at all.
Each check looks at its own safeguard, so one stack can show all of them failing; the freshness
check runs first, before any webhook makes ingestion fresh again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.stack import StackOptions, running_stack
from tests.selftests.broken import failed, run_checks

PER_PROCESS_IDS = ["integrations.arxiv-cadence", "tos.arxiv-cadence", "tos.external-rate-limits"]
SAFEGUARD_IDS = [
    "integrations.hf-webhooks",
    "integrations.github-webhooks",
    "tos.robots",
    "datahandling.personal-data",
    "opsec.sandbox",
]
FAST = "[ingestion]\nfreshness_wait_s = 3.0\ningest_timeout_s = 15.0\n"


@pytest.mark.timeout(300)
def test_per_process_limits_fail_their_checks(tmp_path: Path) -> None:
    """Three pollers each keeping 3 s on their own send requests closer than 3 s; three workers
    each honouring a site's 429 on their own call it again before its Retry-After."""
    overrides = {"arxiv_rate_state": "local", "outbound_rate_state": "local"}
    options = StackOptions(workers=3, pollers=3, overrides=overrides, directory=tmp_path / "stack")
    with running_stack(options) as stack:
        items = run_checks(stack.info.stack_json, PER_PROCESS_IDS, tmp_path)
    assert not failed(items, PER_PROCESS_IDS), failed(items, PER_PROCESS_IDS)
    reason = items["tos.external-rate-limits"].get("reason") or ""
    assert "before Retry-After" in reason, reason  # failed on the site's log, not on a setting


@pytest.mark.timeout(300)
def test_safeguards_off_fail_their_checks(tmp_path: Path) -> None:
    """Webhook auth, robots.txt, pseudonymisation and the sandbox off; no poller running."""
    overrides = {
        "webhook_verify": "false",
        "robots_obey": "false",
        "pseudonymise_personal_data": "false",
        "sandbox_enabled": "false",
    }
    options = StackOptions(workers=1, pollers=0, overrides=overrides, directory=tmp_path / "stack")
    for sub in ("fresh", "rest"):
        (tmp_path / sub).mkdir()
    with running_stack(options) as stack:
        fresh = run_checks(
            stack.info.stack_json, ["data.recent-processed"], tmp_path / "fresh", config=FAST
        )
        items = run_checks(stack.info.stack_json, SAFEGUARD_IDS, tmp_path / "rest", config=FAST)
    assert not failed(fresh, ["data.recent-processed"]), failed(fresh, ["data.recent-processed"])
    assert not failed(items, SAFEGUARD_IDS), failed(items, SAFEGUARD_IDS)
