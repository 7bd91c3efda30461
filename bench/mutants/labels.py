"""pytest plug-in for the coverage map: write the running check's node id to the label file.

Loaded with ``-p bench.mutants.labels --coverage-label-file PATH`` by ``coverage_map``; the
stack's processes read the file (``bench.mutants.covctx``). Every label is also appended to
``PATH`` with the suffix ``.order``, with the time it was written: the map counts a line for
the checks that ran around the one it ran under (``coverage_map.lines_by_check``). Setup, call
and teardown of a check all count as the check: its fixtures drive the platform too.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path

import pytest

AFTER = "(after checks)"
_LABEL_FILE = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("preflight").addoption(
        "--coverage-label-file",
        metavar="PATH",
        default=None,
        help="write each check's node id here while it runs (the mutation bench's coverage "
        "map). Default: %(default)r",
    )


def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("coverage_label_file")
    if value:
        config.stash[_LABEL_FILE] = Path(value)


def _write(config: pytest.Config, label: str) -> None:
    path = config.stash.get(_LABEL_FILE, None)
    if path is not None:
        # Written whole and renamed: a reader never sees half a node id.
        partial = path.with_suffix(".partial")
        partial.write_text(label)
        partial.replace(path)
        with path.with_suffix(".order").open("a") as order:
            order.write(f"{time.time():.3f} {label}\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    _write(item.config, item.nodeid)
    return (yield)


def pytest_sessionfinish(session: pytest.Session) -> None:
    _write(session.config, AFTER)
