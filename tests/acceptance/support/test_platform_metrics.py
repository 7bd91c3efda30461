"""How the platform's metrics of several processes are combined (no target needed)."""

from __future__ import annotations

import pytest

from acceptance.support import promtext
from acceptance.support.platform_metrics import (
    PUBLIC,
    PlatformMetrics,
    assert_comparable,
    incomparable,
    instance_samples,
    several_processes,
)
from acceptance.support.promtext import Sample

EXPOSITION = """\
# HELP platform_http_requests_total Requests.
# TYPE platform_http_requests_total counter
platform_http_requests_total{route="/enqueue",status="202"} 3.0
# HELP platform_queue_depth Jobs waiting per queue.
# TYPE platform_queue_depth gauge
platform_queue_depth{queue="hot"} 4.0
# HELP platform_llm_stream_resumes_total Streams resumed.
# TYPE platform_llm_stream_resumes_total counter
"""


def _two_processes(second_requests: float = 5.0) -> PlatformMetrics:
    first, families = instance_samples(EXPOSITION, "127.0.0.1:1")
    second, _ = instance_samples(
        EXPOSITION.replace("} 3.0", f"}} {second_requests}"), "127.0.0.1:2"
    )
    instances = ("127.0.0.1:1", "127.0.0.1:2")
    return PlatformMetrics(first + second, "processes", instances, frozenset(families))


def test_own_counters_sum_and_shared_series_count_once() -> None:
    """Requests each process counted add up; a queue both read from Redis is counted once."""
    metrics = _two_processes()
    assert promtext.total(metrics.samples, "platform_http_requests_total") == 8.0
    assert promtext.values_by(metrics.shared(), "platform_queue_depth", "queue") == {"hot": 4.0}
    assert metrics.per_instance("platform_http_requests_total") == {
        "127.0.0.1:1": 3.0,
        "127.0.0.1:2": 5.0,
    }


def test_increase_pairs_each_process_with_itself() -> None:
    """Between two reads, one process's growth is not offset by another's larger count."""
    before, after = _two_processes(5.0), _two_processes(9.0)
    grown = promtext.increase(before.samples, after.samples)
    assert promtext.total(grown, "platform_http_requests_total") == 4.0


def test_a_declared_counter_without_samples_is_declared() -> None:
    """A labelled counter nobody incremented yet is exported (HELP/TYPE), with no sample."""
    metrics = _two_processes()
    assert metrics.declares("platform_llm_stream_resumes_total")
    assert not metrics.declares("platform_no_such_total")


def test_public_url_reads_of_different_processes_do_not_compare() -> None:
    """Two public-URL reads answered by processes started at different times do not compare,
    nor any two through a URL that balances; reads of every process always do."""
    one = PlatformMetrics([], PUBLIC, (PUBLIC,), answered_by="process a")
    same = PlatformMetrics([], PUBLIC, (PUBLIC,), answered_by="process a")
    other = PlatformMetrics([], PUBLIC, (PUBLIC,), answered_by="process b")
    assert incomparable(one, same) is None
    reason = incomparable(one, other)
    assert reason is not None and "prometheus_url" in reason
    assert incomparable(_two_processes(), _two_processes()) is None
    balancing = PlatformMetrics([], PUBLIC, (PUBLIC,), answered_by="process a", balanced=True)
    assert "balances" in str(incomparable(one, balancing))
    with pytest.raises(pytest.skip.Exception, match="prometheus_url"):
        assert_comparable(one, other)


def test_evidence_names_the_source_and_the_caveat() -> None:
    """A check's evidence says where its counters came from."""
    metrics = PlatformMetrics([Sample("x", {}, 1.0)], PUBLIC, (PUBLIC,), caveat="balancing")
    assert metrics.evidence() == {
        "metrics_source": PUBLIC,
        "metrics_instances": (PUBLIC,),
        "metrics_caveat": "balancing",
    }


def _read(started: float, cpu: float) -> list[Sample]:
    return [
        Sample("process_start_time_seconds", {}, started),
        Sample("process_cpu_seconds_total", {}, cpu),
    ]


def test_a_balancing_url_is_told_by_start_time_or_a_counter_going_back() -> None:
    """Processes started in the same clock tick share a start time: a process's CPU time that
    goes backwards between two reads in a row gives the second process away."""
    assert not several_processes([_read(100.0, 1.0), _read(100.0, 1.0), _read(100.0, 1.5)])
    assert several_processes([_read(100.0, 1.0), _read(101.0, 1.2)])
    assert several_processes([_read(100.0, 2.0), _read(100.0, 1.0), _read(100.0, 2.1)])


def test_the_platforms_process_id_tells_processes_apart_where_nothing_else_does() -> None:
    """Two processes started in one tick whose CPU times happen to rise read after read: only
    the id each exposes (platform_process_info) tells them apart."""

    def read(process: str, cpu: float) -> list[Sample]:
        return [*_read(100.0, cpu), Sample("platform_process_info", {"id": process}, 1.0)]

    assert not several_processes([_read(100.0, 1.0), _read(100.0, 1.01), _read(100.0, 1.02)])
    assert several_processes([read("a", 1.0), read("b", 1.01), read("a", 1.02)])
    assert not several_processes([read("a", 1.0), read("a", 1.01)])
