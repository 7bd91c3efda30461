"""checklist.json documents made to order, for tests of what reads them (the release summary).

Every box of acceptance/checklist.yaml is present, passing unless told otherwise, as a real run
writes them; the figures are those the latency and load checks record.
"""

from __future__ import annotations

import copy
from typing import Any

from acceptance.harness.checklist import load_checklist
from acceptance.reports.charts import histogram_chart, line_chart

TARGET = {
    "url": "https://127.0.0.1:8443",
    "version": "0.2.0",
    "commit": "abc1234",
    "environment": "local",
}


def ttft_evidence(p50: float, p95: float, values: list[float]) -> dict[str, Any]:
    """latency.ttft's evidence with its two charts, as test_streaming.py records it."""
    return {
        "requests": len(values),
        "errors": 0,
        "ttft_p50_ms": p50,
        "ttft_p95_ms": p95,
        "target_p50_ms": 500.0,
        "target_p95_ms": 1000.0,
        "ttft_histogram": histogram_chart(
            "TTFT distribution",
            values,
            x_label="time to first token (ms)",
            y_label="requests",
            vlines={"SLO p50": 500.0, "SLO p95": 1000.0},
        ),
        "ttft_chart": line_chart(
            "TTFT per request over the run",
            {"ttft": [[0.1 * n, v] for n, v in enumerate(values)]},
            x_label="request sent, time since start (s)",
            y_label="time to first token (ms)",
            hlines={"SLO p95": 1000.0},
        ),
    }


def figures(ttft_p50: float = 150.0, ttft_p95: float = 180.0) -> dict[str, dict[str, Any]]:
    """Evidence of the boxes behind the key figures (a passing run unless told otherwise)."""
    return {
        "latency.ttft": ttft_evidence(ttft_p50, ttft_p95, [ttft_p50 + n % 7 for n in range(40)]),
        "latency.tokens-per-second": {
            "itl_p95_ms": 21.5,
            "decode_tokens_per_s_p50": 48.0,
            "aggregate_tokens_per_s": 150.0,
        },
        "latency.api": {"p95_ms": {"health": 5.0, "enqueue": 12.0, "status": 6.0, "search": 30.0}},
        "load.concurrent-users": {"overall": {"error_share": 0.0, "requests": 400}},
    }


def document(
    changes: dict[str, dict[str, Any]] | None = None,
    evidence: dict[str, dict[str, Any]] | None = None,
    verdict: str = "ready",
) -> dict[str, Any]:
    """A checklist.json: every item passes, except what ``changes`` sets per id (verdict,
    reason, impact...); ``evidence`` per id (default: ``figures()``)."""
    found = figures() if evidence is None else evidence
    items = []
    for entry in load_checklist().items:
        item = {
            "id": entry.id,
            "section": entry.section,
            "text": entry.text,
            "verdict": "pass",
            "reason": None,
            "evidence": copy.deepcopy(found.get(entry.id, {})),
            "checks": [f"{entry.directory}/test_x.py::test_{entry.id}"],
        }
        item.update((changes or {}).get(entry.id, {}))
        items.append(item)
    return {
        "schema": 1,
        "verdict": verdict,
        "target": TARGET,
        "started": "2026-12-06T02:00:00Z",
        "finished": "2026-12-06T02:01:30Z",
        "phase": "predeploy",
        "items": items,
    }
