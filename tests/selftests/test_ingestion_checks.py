"""The ingestion checks fail on stacks broken the way each guards (and pass on a healthy one).

Two broken stacks keep the runtime down: one whose three pollers keep the arXiv cadence per
process only (``arxiv_rate_state=local``), and one with every other safeguard switched off at
once: webhook authentication, robots.txt, pseudonymisation, the sandbox, and no poller at all.
Each check looks at its own safeguard, so one stack can show all of them failing; the freshness
check runs first, before any webhook makes ingestion fresh again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.stack import StackOptions, running_stack
from tests.selftests.broken import failed, run_checks

CADENCE_IDS = ["integrations.arxiv-cadence", "tos.arxiv-cadence"]
SAFEGUARD_IDS = [
    "integrations.hf-webhooks",
    "integrations.github-webhooks",
    "tos.robots",
    "datahandling.personal-data",
    "opsec.sandbox",
]
FAST = "[ingestion]\nfreshness_wait_s = 3.0\ningest_timeout_s = 15.0\n"


@pytest.mark.timeout(300)
def test_per_process_throttle_fails_cadence(tmp_path: Path) -> None:
    """Three pollers each keeping 3 s on their own send requests closer than 3 s."""
    options = StackOptions(
        workers=1, pollers=3, overrides={"arxiv_rate_state": "local"}, directory=tmp_path / "stack"
    )
    with running_stack(options) as stack:
        items = run_checks(stack.info.stack_json, CADENCE_IDS, tmp_path)
    assert not failed(items, CADENCE_IDS), failed(items, CADENCE_IDS)


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
