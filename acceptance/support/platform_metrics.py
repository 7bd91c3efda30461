"""The platform's /metrics counters read across all of its processes, not through one of them.

A public URL in front of several API processes (an ingress, a load balancer) answers each
``GET /metrics`` from one process, so a counter read before and after a check's requests may
come from two processes, and the requests may have been counted by a third. The checks that
read counters therefore ask ``platform_metrics`` for every process's samples, each labelled with
its ``instance``, from the first source that has them all:

1. the reference stack: each API process at its own address (``stack.json`` ``api``);
2. the deployment's Prometheus (``[postdeploy] prometheus_url``): every series of the
   ``[monitoring] job`` (=~ ``instance``), once every instance has been scraped after the read
   was asked (bounded by ``[monitoring] sample_wait_s``), so a read is never older than the
   check's own requests;
3. the public URL, the honest fallback: right for one process. Whether it balances over
   several is asked once per run: ``BALANCE_PROBES`` reads in a row answered by more than one
   process (the process id the platform exposes, ``platform_process_info{id}``, differs; for a
   platform without it, ``process_start_time_seconds`` differs or a process's own counter went
   backwards from one read to the next: processes started side by side can share a start time,
   which has the clock tick's resolution). Then the evidence says so, and
   ``assert_comparable`` makes a check that compares two reads not verified naming
   ``[postdeploy] prometheus_url``: even two reads answered by one process miss what the
   others counted of the check's own requests.

Per-process counters (requests, security events, shed requests, LLM and outbound calls,
datastore timings) are then summed over the instances by ``promtext.total``/``values_by``/
``histogram_quantile`` as they are, and ``promtext.increase`` pairs each instance with itself.
Series every process reads from the shared Redis (queue depths, jobs, scheduled jobs, ingestion
figures, the workers' own) are the same in each exposition: ``shared()`` keeps one copy, as a
PromQL ``max by`` would. Per-process limits (the in-flight limit) are read per instance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from acceptance.harness.target import USER_AGENT, Target
from acceptance.harness.verdicts import not_verified
from acceptance.settings import SuiteConfig
from acceptance.support.monitoring import monitoring
from acceptance.support.prometheus_series import PrometheusError, query, selector
from acceptance.support.promtext import Sample
from service.waiting import PollTimeout, poll_until

INSTANCE = "instance"
STARTED = "process_start_time_seconds"
# The platform's own process id (service/http/metrics.py): exact where start times coincide.
IDENTITY = "platform_process_info"
# Counters one process only ever increases: a read lower than the one before came from another.
MONOTONIC = ("process_cpu_seconds_total", "platform_http_requests_total")
PUBLIC = "public URL"
# Labels Prometheus adds to every series: not the platform's own, dropped when series are merged.
TARGET_LABELS = frozenset({INSTANCE, "job"})
SET_PROMETHEUS = "set [postdeploy] prometheus_url (PREFLIGHT_POSTDEPLOY__PROMETHEUS_URL)"
FALLBACK_CAVEAT = (
    "read through the public URL, which answered every probe from one process; if it balances "
    f"over several, counters of two reads may not compare: {SET_PROMETHEUS}"
)
BALANCED_CAVEAT = (
    "the public URL balances over several processes: each read of /metrics is one process's, "
    f"and the check's own requests may be counted by another; {SET_PROMETHEUS} to read them all"
)
# Reads of /metrics that decide whether the public URL balances: round robin over 2 processes
# shows both by the second read; a random balancer sends all 8 to one of 2 once in 128 runs.
BALANCE_PROBES = 8
# Public URL -> whether it balances: a property of the deployment, asked once per run.
_BALANCING: dict[str, bool] = {}


class MetricsUnavailable(AssertionError):
    """No source answered with the platform's metrics. An AssertionError: a check that needs
    the counters fails, as a plain ``GET /metrics`` answered non-200 always made it."""


@dataclass(frozen=True)
class PlatformMetrics:
    """Every process's samples (labelled ``instance``), where they came from, and caveats."""

    samples: list[Sample]
    source: str  # "processes", "prometheus <url>" or "public URL"
    instances: tuple[str, ...]
    families: frozenset[str] = frozenset()  # declared metric families (with or without samples)
    caveat: str | None = None
    answered_by: str | None = None  # public URL only: the answering process (id, else start)
    balanced: bool = False  # public URL only: it balances over several processes

    def shared(self) -> list[Sample]:
        """One copy of each series regardless of instance: for what every process reads from
        the shared Redis (the highest value, the freshest read of a counter)."""
        best: dict[tuple[str, tuple[tuple[str, str], ...]], Sample] = {}
        for s in self.samples:
            labels = {k: v for k, v in s.labels.items() if k not in TARGET_LABELS}
            key = (s.name, tuple(sorted(labels.items())))
            if key not in best or s.value > best[key].value:
                best[key] = Sample(s.name, labels, s.value)
        return list(best.values())

    def per_instance(self, name: str, **match: str) -> dict[str, float]:
        """``name`` summed per process (e.g. each process's start time or in-flight limit)."""
        out: dict[str, float] = {}
        for s in self.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in match.items()):
                instance = s.labels.get(INSTANCE, PUBLIC)
                out[instance] = out.get(instance, 0.0) + s.value
        return out

    def declares(self, name: str) -> bool:
        """Whether some process declares the family (a counter without samples yet counts)."""
        return name in self.families or name.removesuffix("_total") in self.families

    def evidence(self) -> dict[str, Any]:
        """Where the figures came from, for a check's evidence."""
        out: dict[str, Any] = {"metrics_source": self.source, "metrics_instances": self.instances}
        if self.caveat:
            out["metrics_caveat"] = self.caveat
        return out


def instance_samples(text: str, instance: str) -> tuple[list[Sample], set[str]]:
    """One process's exposition: its samples labelled with ``instance``, its declared families."""
    samples, families = [], set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        samples += [
            Sample(s.name, {**s.labels, INSTANCE: instance}, float(s.value)) for s in family.samples
        ]
    return samples, families


def _from_processes(target: Target, config: SuiteConfig) -> PlatformMetrics | None:
    processes = list(getattr(target.stack, "api", None) or [])
    if not processes:
        return None
    samples: list[Sample] = []
    families: set[str] = set()
    headers = {"User-Agent": USER_AGENT}
    with httpx.Client(verify=target.verify, timeout=config.http_timeout_s, headers=headers) as http:
        for process in processes:
            url = str(process.url).rstrip("/")
            answer = http.get(f"{url}/metrics")
            if answer.status_code != 200:
                raise MetricsUnavailable(f"GET {url}/metrics: {answer.status_code}")
            found, declared = instance_samples(answer.text, urlsplit(url).netloc)
            samples += found
            families |= declared
    instances = tuple(urlsplit(str(p.url)).netloc for p in processes)
    return PlatformMetrics(samples, "processes", instances, frozenset(families))


def _fresh_scrapes(prometheus: str, config: SuiteConfig, asked: float) -> bool:
    """Wait until every instance of the platform's job was scraped after ``asked``."""

    def scraped() -> bool:
        found = query(
            prometheus, f"min(timestamp({selector(config, 'up')}))", config.http_timeout_s
        )
        return bool(found) and float(found[0]["value"][1]) >= asked

    try:
        poll_until(scraped, timeout=config.monitoring.sample_wait_s, interval=0.25)
    except PollTimeout:
        return False
    return True


def _from_prometheus(prometheus: str, config: SuiteConfig) -> PlatformMetrics:
    fresh = _fresh_scrapes(prometheus, config, time.time())
    series = query(prometheus, selector(config, ""), config.http_timeout_s)
    if not series:
        raise MetricsUnavailable(f"Prometheus {prometheus} holds no series {selector(config, '')}")
    samples = []
    for item in series:
        labels = {str(k): str(v) for k, v in item.get("metric", {}).items()}
        name = labels.pop("__name__", "")
        samples.append(Sample(name, labels, float(item["value"][1])))
    caveat = None
    if not fresh:
        caveat = (
            f"Prometheus had not scraped every instance within [monitoring] sample_wait_s "
            f"({config.monitoring.sample_wait_s} s) of the read: counters may lag"
        )
    return PlatformMetrics(
        samples,
        f"prometheus {prometheus}",
        tuple(sorted({s.labels.get(INSTANCE, "") for s in samples})),
        frozenset(s.name for s in samples),
        caveat=caveat,
    )


def _identity(samples: list[Sample]) -> str | None:
    """The answering process: its id where the platform exposes one, else its start time."""
    for s in samples:
        if s.name == IDENTITY and "id" in s.labels:
            return f"process {s.labels['id']}"
    started = next((s.value for s in samples if s.name == STARTED), None)
    return None if started is None else f"process started at {started}"


def _read_public(client: httpx.Client) -> tuple[list[Sample], set[str]]:
    answer = client.get("/metrics")
    if answer.status_code != 200:
        raise MetricsUnavailable(f"GET /metrics: {answer.status_code}")
    return instance_samples(answer.text, PUBLIC)


def several_processes(reads: list[list[Sample]]) -> bool:
    """Whether reads made one after another were answered by more than one process."""
    if len({_identity(r) for r in reads}) > 1:
        return True
    for name in MONOTONIC:
        values = [sum(s.value for s in r if s.name == name) for r in reads]
        if any(later < earlier for earlier, later in pairwise(values)):
            return True
    return False


def _balances(client: httpx.Client) -> bool:
    url = str(client.base_url)
    if url not in _BALANCING:
        reads = [_read_public(client)[0] for _ in range(BALANCE_PROBES)]
        _BALANCING[url] = several_processes(reads)
    return _BALANCING[url]


def _from_public_url(client: httpx.Client) -> PlatformMetrics:
    samples, families = _read_public(client)
    balanced = _balances(client)
    return PlatformMetrics(
        samples,
        PUBLIC,
        (PUBLIC,),
        frozenset(families),
        caveat=BALANCED_CAVEAT if balanced else FALLBACK_CAVEAT,
        answered_by=_identity(samples),
        balanced=balanced,
    )


def platform_metrics(target: Target, config: SuiteConfig, client: httpx.Client) -> PlatformMetrics:
    """Every process's /metrics samples from the first source that has them all (module
    docstring); ``client`` reads the public URL when nothing else can.

    Raises ``MetricsUnavailable`` when the chosen source does not answer.
    """
    own = _from_processes(target, config)
    if own is not None:
        return own
    prometheus = monitoring(target, config).prometheus if target.stack is None else None
    if prometheus is not None:
        try:
            return _from_prometheus(prometheus, config)
        except PrometheusError as exc:
            raise MetricsUnavailable(str(exc)) from exc
    return _from_public_url(client)


def incomparable(before: PlatformMetrics, after: PlatformMetrics) -> str | None:
    """Why two reads' counters do not compare (through a public URL that balances, or answered
    by different processes), else None."""
    if before.source != PUBLIC or after.source != PUBLIC:
        return None
    if before.balanced or after.balanced:
        return BALANCED_CAVEAT
    if before.answered_by == after.answered_by:
        return None
    return (
        "two reads of /metrics through the public URL were answered by different processes "
        f"({before.answered_by} and {after.answered_by}): their counters do not "
        f"compare; {SET_PROMETHEUS} so every process is read"
    )


def assert_comparable(before: PlatformMetrics, after: PlatformMetrics) -> None:
    """End a check that compares two reads not verified when they do not compare."""
    reason = incomparable(before, after)
    if reason is not None:
        not_verified(reason)
