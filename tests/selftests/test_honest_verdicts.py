"""An empty answer where the target says it holds data fails; it is not "not verified".

A healthy stack (it reports documents in /health) is asked what it cannot answer: labelled
queries that match none of its documents, GPU series from an endpoint that exports none (its
Prometheus's own /metrics). The suite had all the access it needed, so the boxes fail with the
evidence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.stack import StackOptions, start_stack
from tests.selftests.broken import failed, run_artefact_checks

pytestmark = pytest.mark.timeout(300)
IDS = ["endpoints.search", "tos.attribution", "resources.gpu"]


def test_empty_answers_from_a_target_holding_data_fail(tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    queries = [{"q": "zqnowherewordalpha zqnowherewordbeta", "relevant": ["arxiv:none"]}]
    labels.write_text(json.dumps({"queries": queries}))
    with start_stack(StackOptions(workers=1, directory=tmp_path / "stack")) as info:
        prometheus = info.monitoring.prometheus_url
        ids = IDS if prometheus else IDS[:2]
        gpu = f"gpu_metrics_urls = [{json.dumps(f'{prometheus}/metrics')}]\n" if prometheus else ""
        config = f"{gpu}[documents]\nlabelled_set = {json.dumps(str(labels))}\n"
        items = run_artefact_checks(ids, tmp_path, config=config, stack_json=info.stack_json)
    assert not failed(items, ids), failed(items, ids)
    for i in ("endpoints.search", "tos.attribution"):
        assert "holds" in items[i]["reason"], items[i]["reason"]
