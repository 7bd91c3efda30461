"""The search, document, backup, upload and egress checks fail on stacks broken their way.

Two stacks carry several independent faults each (the checks they break do not overlap), so the
self-tests stay within a minute and a half; each fault is a setting an operator could really get
wrong, or (for integrity) a store written behind the index's back.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from service.stack import StackOptions, running_stack
from tests.selftests.broken import failed, run_checks

ALL_CLASSES = json.dumps(["permissive", "restricted", "gated", "unknown"])

# Licence policy, egress, upload limits, retention and query bounds all set unsafely.
MISCONFIGURED = {
    "documents_full_text_classes": ALL_CLASSES,  # full text for every licence ...
    "documents_metadata_only_classes": "[]",  # ... and gated models' text too
    "egress_allowlist": '["*"]',  # "allow everything" with ...
    "egress_allow_private": "true",  # ... private ranges reachable
    "upload_max_bytes": str(1 << 30),  # 1 GiB uploads ...
    "max_body_bytes": str(1 << 30),  # ... and bodies
    "documents_retention_days": '{"upload": 0}',  # uploads kept forever
    "search_max_query_chars": "4096",  # oversized queries accepted
}
# The stack above would really connect to the metadata and private addresses; a fault test's
# traffic stays on this machine, so those two cases point at loopback addresses nothing listens on.
LOOPBACK_ONLY = """
[ingestion]
egress_metadata_url = "http://127.0.0.2:9/latest/meta-data/"
egress_private_url = "http://127.0.0.3:9/egress-canary"
"""
MISCONFIGURED_IDS = [
    "datahandling.export-restrictions",
    "datahandling.copyright",
    "opsec.egress",
    "protection.file-uploads",
    "datahandling.retention",
    "protection.input-validation",
]

# Backups off, a query bound too tight for real queries, and a store edited behind its index.
DEGRADED = {"backups_enabled": "false", "search_max_query_chars": "8"}
DEGRADED_IDS = [
    "data.backups-ok",
    "backup.recent-valid",
    "endpoints.search",
    "data.db-integrity",
    "datahandling.integrity",
    "tos.attribution",
    "backup.rollback-tested",
]


def _edit_behind_the_index(data_dir: Path) -> None:
    """A repair script that ran without the triggers: attribution dropped, index stale."""
    conn = sqlite3.connect(data_dir / "documents.sqlite3")
    try:
        conn.execute("DROP TRIGGER documents_au")
        conn.execute(
            "UPDATE documents SET authors = '[]', link = '', title = 'Attention' "
            "WHERE id = 'arxiv:1706.03762'"
        )
        conn.commit()
    finally:
        conn.close()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", ["misconfigured", "degraded"])
def test_document_checks_fail(case: str, tmp_path: Path) -> None:
    """Every check of the case's ids ends `fail` in checklist.json."""
    overrides, ids = (
        (MISCONFIGURED, MISCONFIGURED_IDS) if case == "misconfigured" else (DEGRADED, DEGRADED_IDS)
    )
    options = StackOptions(workers=1, overrides=overrides, directory=tmp_path / "stack")
    with running_stack(options) as stack:
        if case == "degraded":
            _edit_behind_the_index(Path(stack.info.settings["PLATFORM_DATA_DIR"]))
        config = LOOPBACK_ONLY if case == "misconfigured" else ""
        items = run_checks(stack.info.stack_json, ids, tmp_path, config=config)
    assert not failed(items, ids), failed(items, ids)
    if case == "misconfigured":  # failed on what the ingestion path did, not only on the setting
        assert "not refused by egress" in (items["opsec.egress"].get("reason") or "")
