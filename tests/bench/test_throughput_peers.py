"""The peers of `python -m bench.throughput` at a tiny size: each drains its queue on a real Valkey.

RQ comes with the `bench` extra and arq with its own venv (`bash bench/peers/setup.sh arq`);
each test skips, saying how to install, when its peer is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.common import Valkey
from bench.peers import missing, peer_python
from bench.throughput_peers import run_arq, run_rq

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]
JOBS = 20


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[str]:
    """A Valkey of this test's own: the runs flush it."""
    server = Valkey(tmp_path, aof=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_arq_drains_its_queue_from_its_own_venv(valkey: str) -> None:
    """The arq driver enqueues one call at a time and two burst workers finish every job."""
    if peer_python("arq") is None:
        pytest.skip(missing("arq"))
    run = run_arq(valkey, JOBS, 2)
    assert not isinstance(run, str)
    seconds, latencies = run
    assert seconds > 0 and len(latencies) == JOBS


def test_rq_drains_its_queue(valkey: str) -> None:
    """RQ's SimpleWorkers in burst mode finish every job (skips without the `bench` extra)."""
    pytest.importorskip("rq", reason="pip install -e '.[bench]'")
    seconds, latencies = run_rq(valkey, JOBS, 2)
    assert seconds > 0 and len(latencies) == JOBS
