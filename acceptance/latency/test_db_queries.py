"""Response Times: datastore and search query latency from the target's own histograms.

The service times its datastore round trips (``platform_datastore_command_duration_seconds``,
service/documents/metrics.py); the document store's query histogram is included when the target
exports one. The p95 comes from the buckets exactly as PromQL's histogram_quantile computes it.
"""

from __future__ import annotations

import httpx
import pytest

from acceptance.harness.fixtures import Evidence
from acceptance.harness.target import Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support import promtext
from acceptance.support.platform_metrics import assert_comparable, platform_metrics

DATASTORE = "platform_datastore_command_duration_seconds"
# Names a document-store/search query histogram may have (the documents code owns it).
SEARCH_HINTS = ("search", "document", "sqlite", "fts")


def _search_histograms(samples: list[promtext.Sample]) -> list[str]:
    names = {s.name.removesuffix("_bucket") for s in samples if s.name.endswith("_bucket")}
    return sorted(n for n in names if any(h in n for h in SEARCH_HINTS) and "http_request" not in n)


@pytest.mark.since("0.1.0")
@pytest.mark.checklist("latency.db-queries")
def test_query_p95_within_target(
    anon_client: httpx.Client, target: Target, config: SuiteConfig, evidence: Evidence
) -> None:
    """p95 of every datastore operation and search query histogram is within target."""
    limit_ms = config.performance.db_p95_ms
    before = platform_metrics(target, config, anon_client)
    for _ in range(config.database_probes):  # health probes run the timed datastore operations
        anon_client.get("/health")
    # The interval of the probes only: other checks' load must not colour this figure.
    after = platform_metrics(target, config, anon_client)
    assert_comparable(before, after)
    samples = promtext.increase(before.samples, after.samples)
    histograms = [DATASTORE, *_search_histograms(samples)]
    p95_ms: dict[str, float] = {}
    for name in histograms:
        label = "operation" if name == DATASTORE else None
        for group, value in promtext.histogram_quantile(samples, name, 0.95, by=label).items():
            if value is not None:
                p95_ms[f"{name}{'{' + group + '}' if group else ''}"] = round(value * 1000, 3)
    evidence.add(p95_ms=p95_ms, target_ms=limit_ms, histograms=histograms, **after.evidence())
    if not p95_ms:
        not_verified(f"the target exports no observed datastore histogram ({DATASTORE})")
    slow = {n: v for n, v in p95_ms.items() if v > limit_ms}
    assert not slow, f"query p95 above {limit_ms} ms: {slow}"
