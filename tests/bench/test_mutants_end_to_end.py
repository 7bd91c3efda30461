"""One mutant end to end: a copy, the stack booted from it, one box run against it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("mutmut", reason="the mutation bench needs the bench extra")

from bench.mutants import generate, runner
from bench.mutants.coverage_map import CoverageMap

REPO = Path(__file__).resolve().parents[2]
# The readiness route (@router.get("/ready", ...) under the /health prefix): the stack's boot
# waits on /health/live and /health, not on it, so the mutated stack boots.
ROUTE = '"/ready"'


def _readiness_route_mutant() -> generate.Mutant:
    """The string mutant of the readiness route's path, wherever the layout puts the route."""
    for module, path in generate.platform_modules(REPO).items():
        lines = (REPO / path).read_text().splitlines()
        numbers = {n for n, text in enumerate(lines, 1) if ROUTE in text and "@" in text}
        for mutant in generate.mutants_of(REPO, module, path) if numbers else []:
            if mutant.line in numbers and mutant.operator == "string":
                return mutant
    raise AssertionError(f"no route decorator with {ROUTE} under service/")


@pytest.mark.slow
def test_one_mutant_is_booted_checked_and_recorded(tmp_path: Path) -> None:
    """The record says what happened (a decided outcome), with boot and check times and the
    diff; the box run is the one the map selects for the line."""
    mutant = _readiness_route_mutant()
    cmap = CoverageMap(
        lines={mutant.path: {mutant.line: frozenset({"health.endpoints-ok"})}},
        baseline={"health.endpoints-ok": "pass"},
    )
    budget = runner.Budget(boot_timeout_s=120, mutant_s=280, total_s=280)
    records = list(runner.run(REPO, [mutant], cmap, tmp_path, budget))
    assert len(records) == 1
    record = records[0]
    assert record["status"] in {"killed", "survived"}, record.get("reason")
    assert record["ids"] == ["health.endpoints-ok"] and record["selection"] == "line"
    assert record["boot_s"] > 0 and record["checks_s"] > 0
    assert "XX/readyXX" in record["diff"]
    assert runner.pending([mutant], runner.load_results(tmp_path)) == []
