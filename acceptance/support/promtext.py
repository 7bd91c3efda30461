"""Prometheus text exposition as the checks read it: samples, sums and histogram quantiles.

Parsing is prometheus_client's own parser, so the suite reads /metrics exactly as a Prometheus
server would; quantiles follow PromQL's ``histogram_quantile`` (linear within the bucket), so a
figure in the report matches what a dashboard shows for the same buckets. The checks read the
samples through ``platform_metrics`` (every process of the platform, labelled ``instance``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Sample:
    """One series value: the sample name (``x_bucket``, ``x_total``...), its labels, its value."""

    name: str
    labels: dict[str, str]
    value: float


def parse(text: str) -> list[Sample]:
    """Every sample of an exposition."""
    return [
        Sample(s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def _matches(sample: Sample, match: dict[str, str]) -> bool:
    return all(sample.labels.get(k) == v for k, v in match.items())


def total(samples: list[Sample], name: str, **match: str) -> float | None:
    """Sum of every series of ``name`` whose labels include ``match``; None if there is none."""
    found = [s.value for s in samples if s.name == name and _matches(s, match)]
    return sum(found) if found else None


def values_by(samples: list[Sample], name: str, label: str) -> dict[str, float]:
    """``name`` summed per value of ``label`` (e.g. requests per status code)."""
    out: dict[str, float] = defaultdict(float)
    for s in samples:
        if s.name == name and label in s.labels:
            out[s.labels[label]] += s.value
    return dict(out)


def histogram_quantile(
    samples: list[Sample], name: str, q: float, *, by: str | None = None, **match: str
) -> dict[str, float | None]:
    """The ``q`` (0..1) quantile of histogram ``name`` (without ``_bucket``), per ``by`` label.

    Buckets of matching series are summed per ``by`` value (key "" without ``by``). None for a
    group without observations.
    """
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for s in samples:
        if s.name == f"{name}_bucket" and _matches(s, match):
            group = s.labels.get(by, "") if by else ""
            buckets[group][float(s.labels["le"])] += s.value
    return {group: _quantile(sorted(counts.items()), q) for group, counts in buckets.items()}


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """PromQL's histogram_quantile over cumulative (upper bound, count) pairs."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # PromQL: the highest finite bucket bound
            span = count - lower_count
            return lower_bound + (bound - lower_bound) * (
                (rank - lower_count) / span if span else 1
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def increase(before: list[Sample], after: list[Sample]) -> list[Sample]:
    """``after`` minus ``before`` per series: what happened between two scrapes (counters and
    histogram buckets), so a quantile describes that interval, not the process's whole life."""
    earlier = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in before}
    return [
        Sample(
            s.name, s.labels, s.value - earlier.get((s.name, tuple(sorted(s.labels.items()))), 0)
        )
        for s in after
    ]
