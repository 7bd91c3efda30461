"""Run mutants one at a time: copy, mutate, boot, run the covering boxes, append the outcome.

Outcomes (``status`` in results.jsonl, one JSON object per line, appended as each ends):

- ``killed``: a selected box ended ``fail`` (``failed`` names them);
- ``killed_boot``: the stack did not boot from the mutated copy (counts as killed, shown apart);
- ``survived``: every selected box ended as it did without the mutant, or better;
  ``unverified`` names boxes that passed in the map's run and now end otherwise (not a kill: a
  box run on its own may lack what an earlier box of the full run measured);
- ``no_coverage``: no check executes the line; nothing is booted (a survivor, shown apart);
- ``timeout``: the boot plus the checks took longer than the per-mutant budget;
- ``invalid``: the mutated file does not compile, or the id names another change now.

``error`` (the checks wrote no report: the bench's own failure) is recorded but not decided, so
``--resume`` tries it again, as it does mutants the total budget left unrun.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.mutants import generate, stack
from bench.mutants.coverage_map import CoverageMap, Selection
from bench.mutants.generate import Mutant

DECIDED = frozenset({"killed", "killed_boot", "survived", "no_coverage", "timeout", "invalid"})
RESULTS = "results.jsonl"
GOOD = frozenset({"pass", "waived", "needs_confirmation"})


@dataclass(frozen=True)
class Budget:
    boot_timeout_s: float = 120.0
    mutant_s: float = 900.0  # boot + checks of one mutant
    total_s: float = 3600.0
    # Stop a mutant's checks at the first failed one: a kill needs one failed box, and only
    # survivors then pay for every selected box (the per-section "killed here" counts only
    # the first box that failed).
    stop_at_first_fail: bool = True


def sample(mutants: Sequence[Mutant], size: int | None, seed: int) -> list[Mutant]:
    """``size`` mutants drawn with ``seed`` (all of them if None), in id order.

    The draw is over the stable order ``generate.all_mutants`` gives, so the same tree, seed
    and size always give the same sample.
    """
    chosen = list(mutants)
    if size is not None and size < len(chosen):
        chosen = random.Random(seed).sample(chosen, size)  # noqa: S311 - a reproducible draw
    return sorted(chosen, key=lambda m: m.place)


def resolve(
    current: Sequence[Mutant], recorded: Sequence[Sequence[str]]
) -> tuple[list[Mutant], list[str]]:
    """A run's recorded sample (``[id, fingerprint]`` pairs) in today's code, and the ids found
    nowhere. A mutant keeps its id while its line stays; where edits above it moved the line
    (a triage that strengthened the platform's code, say), it is the one mutant of its module
    with the same operator and fingerprint, now under a new id. Redrawing the sample instead
    would swap mutants in and out of it with every such edit."""
    by_id = {m.id: m for m in current}
    by_change: dict[tuple[str, str, str], list[Mutant]] = {}
    for m in current:
        by_change.setdefault((m.module, m.operator, m.fingerprint), []).append(m)
    found: list[Mutant] = []
    gone: list[str] = []
    for ident, fingerprint in recorded:
        same = by_id.get(ident)
        if same is not None and same.fingerprint == fingerprint:
            found.append(same)
            continue
        module, _line, operator, index = ident.split(":")
        moved = by_change.get((module, operator, fingerprint), [])
        if len(moved) > 1:  # the same change at several places: the same place on its line
            moved = [m for m in moved if m.index == int(index)]
        if len(moved) == 1:
            found.append(moved[0])
        else:  # removed, or still ambiguous: no way to tell which
            gone.append(ident)
    return sorted(found, key=lambda m: m.place), gone


def load_results(out: Path) -> dict[str, dict[str, Any]]:
    """The last record of each mutant in ``out/results.jsonl`` (later lines win)."""
    path = out / RESULTS
    records: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                records[record["id"]] = record
    return records


@dataclass(frozen=True)
class Round:
    """Which decided mutants run again: those last decided as one of ``statuses`` in an
    earlier round (``--rerun survived``: the survivors, once the checks that should kill them
    exist). Round 0 is the first run; each ``--rerun`` starts the next."""

    number: int = 0
    statuses: frozenset[str] = frozenset()
    # Mutants recorded as equivalent (bench/mutants_equivalent.yaml, fingerprint matching):
    # not counted, so a round does not spend a stack boot on them again.
    equivalent: frozenset[str] = frozenset()


def pending(
    mutants: Iterable[Mutant], done: dict[str, dict[str, Any]], again: Round = Round()
) -> list[Mutant]:
    """The mutants the round runs again, then those without a decided outcome (what
    ``--resume`` still runs): a round cut by its budget has re-decided what it was started for
    before it goes on with the rest of the sample."""

    def again_now(mutant: Mutant, record: dict[str, Any]) -> bool:
        return (
            record.get("status") in again.statuses
            and record.get("round", 0) < again.number
            and mutant.id not in again.equivalent
        )

    rerun = [m for m in mutants if again_now(m, done.get(m.id, {}))]
    undecided = [m for m in mutants if done.get(m.id, {}).get("status") not in DECIDED]
    return rerun + undecided


def append(out: Path, record: dict[str, Any]) -> None:
    with (out / RESULTS).open("a") as results:
        results.write(json.dumps(record, sort_keys=True) + "\n")


def judge(
    checklist: dict[str, Any], ids: Sequence[str], baseline: dict[str, str]
) -> dict[str, Any]:
    """killed or survived from a run's checklist.json, for the selected boxes."""
    verdicts = {item["id"]: item["verdict"] for item in checklist["items"]}
    failed = sorted(i for i in ids if verdicts.get(i) == "fail")
    # Only a survivor ran every selected box (a kill may have stopped at the first failure).
    unverified = (
        sorted(i for i in ids if baseline.get(i) in GOOD and verdicts.get(i) not in GOOD)
        if not failed
        else []
    )
    return {
        "status": "killed" if failed else "survived",
        "failed": failed,
        "unverified": unverified,
    }


def _base_record(mutant: Mutant, selection: Selection) -> dict[str, Any]:
    return {
        **asdict(mutant),
        "id": mutant.id,
        "selection": selection.source,
        "ids": selection.ids,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def run_one(
    root: Path, mutant: Mutant, cmap: CoverageMap, out: Path, budget: Budget, limit_s: float
) -> dict[str, Any]:
    """One mutant end to end; its record (not yet appended). ``limit_s``: time it may take."""
    selection = cmap.select(mutant.path, mutant.line)
    record = _base_record(mutant, selection)
    started = time.monotonic()
    try:
        mutated = generate.apply(root, mutant)
    except ValueError as exc:
        return {**record, "status": "invalid", "reason": str(exc)}
    record["diff"] = generate.diff(root, mutant, mutated)
    if not selection.ids:
        return {**record, "status": "no_coverage"}
    logs = out / "logs" / mutant.id.replace(":", "_")
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pf-mutant-") as name:
        tmp = Path(name)
        checkout = tmp / "checkout"
        stack.copy_checkout(root, checkout)
        (checkout / mutant.path).write_text(mutated)
        env = stack.child_env(checkout)
        try:
            with stack.booted_stack(
                checkout, tmp, timeout_s=min(budget.boot_timeout_s, limit_s), env=env
            ) as booted:
                record["boot_s"] = round(booted.boot_s, 1)
                left = limit_s - (time.monotonic() - started)
                run = stack.run_checks(
                    checkout,
                    booted.stack_json,
                    logs / "report",
                    ids=selection.ids,
                    timeout_s=max(left, 1.0),
                    env=env,
                    extra_args=["--maxfail=1"] if budget.stop_at_first_fail else [],
                )
        except stack.BootFailed as exc:
            record.update(status="killed_boot", reason=str(exc)[-1500:])
        else:
            record["checks_s"] = round(run.checks_s, 1)
            if run.exit is None:
                record["status"] = "timeout"
            elif run.checklist is None:
                record.update(status="error", reason=f"pytest exit {run.exit}, no checklist.json")
            else:
                record.update(judge(run.checklist, selection.ids, cmap.baseline))
        finally:
            if (tmp / "stack.out").exists():
                shutil.copy2(tmp / "stack.out", logs / "stack.out")
    record["total_s"] = round(time.monotonic() - started, 1)
    return record


def run(
    root: Path,
    mutants: Sequence[Mutant],
    cmap: CoverageMap,
    out: Path,
    budget: Budget,
    again: Round = Round(),
) -> Iterator[dict[str, Any]]:
    """Run the mutants ``pending`` names, one at a time, within ``budget``."""
    out.mkdir(parents=True, exist_ok=True)
    todo = pending(mutants, load_results(out), again)
    started = time.monotonic()
    for mutant in todo:
        left = budget.total_s - (time.monotonic() - started)
        if left <= 0:
            return
        record = run_one(root, mutant, cmap, out, budget, min(budget.mutant_s, left))
        if again.number:
            record["round"] = again.number
        if record.get("status") == "timeout" and left < budget.mutant_s:
            return  # cut by the total budget, not the mutant's own: left for --resume
        append(out, record)
        yield record
