"""Which checklist boxes execute which lines of the platform: measured, stored, looked up.

Built by ``python -m bench.mutants coverage-map``: one full ``pytest -m preflight`` against a
stack booted from a copy of the checkout with coverage.py in every process of the stack (API,
workers, poller: ``COVERAGE_PROCESS_START`` and the ``.pth`` file coverage installs), each line
labelled with the checks that ran while it executed (``covctx``/``labels``). Node ids become
checklist ids through that run's checklist.json, whose verdicts are also kept as the baseline.

A mutant on line L is run against the boxes whose checks executed L. A line executed while the
stack booted (module-level constants, app wiring, the seed's first backup) affects whatever uses
it later: it gets every box that executed any line of its module (as well as its own). A module
``bench/mutants_fallback.yaml`` lists gets the boxes it names on every line: alone where coverage
cannot reach (the sandbox's child process, whose environment is rebuilt from nothing), added to
the measured ones elsewhere (rules pydantic enforces in compiled code; a background loop's
lines). Anything else is executed by no check: no-coverage.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BOOT = "(boot)"
# How late a process of the stack may take a new label: its poll (covctx.POLL_S, 50 ms) plus
# scheduling delays on a loaded 2-core machine. Too long only widens selections.
LABEL_LAG_S = 0.5
DEFAULT_MAP = Path("bench/mutants_coverage.json")
DEFAULT_FALLBACK = Path("bench/mutants_fallback.yaml")


def ranges(lines: Iterable[int]) -> str:
    """1,2,3,7 -> "1-3,7": the stored form of a set of line numbers."""
    runs: list[list[int]] = []
    for n in sorted(set(lines)):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in runs)


def unranges(text: str) -> list[int]:
    numbers: list[int] = []
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        numbers.extend(range(int(low), int(high or low) + 1))
    return numbers


def encode_files(lines_by_file: Mapping[str, Mapping[int, set[str]]]) -> dict[str, Any]:
    """{path: {line: ids}} -> the stored form: one list of ids, lines grouped by id set."""
    all_ids = sorted({i for by_line in lines_by_file.values() for s in by_line.values() for i in s})
    index = {i: n for n, i in enumerate(all_ids)}
    files: dict[str, list[list[Any]]] = {}
    for path, by_line in sorted(lines_by_file.items()):
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for line, ids in by_line.items():
            groups[tuple(sorted(index[i] for i in ids))].append(line)
        files[path] = [[ranges(lines), list(key)] for key, lines in sorted(groups.items())]
    return {"ids": all_ids, "files": files}


def decode_files(stored: Mapping[str, Any]) -> dict[str, dict[int, frozenset[str]]]:
    all_ids: list[str] = stored["ids"]
    decoded: dict[str, dict[int, frozenset[str]]] = {}
    for path, groups in stored["files"].items():
        by_line: dict[int, frozenset[str]] = {}
        for text, key in groups:
            ids = frozenset(all_ids[n] for n in key)
            by_line.update(dict.fromkeys(unranges(text), ids))
        decoded[path] = by_line
    return decoded


@dataclass
class Selection:
    """The boxes to run for a mutant and where that choice came from."""

    ids: list[str]
    source: str  # line | module | fallback | none


@dataclass
class CoverageMap:
    lines: dict[str, dict[int, frozenset[str]]]
    baseline: dict[str, str] = field(default_factory=dict)  # id -> verdict of the map's run
    sections: dict[str, str] = field(default_factory=dict)  # id -> section title
    fallback: dict[str, list[str]] = field(default_factory=dict)  # path -> ids or "prefix."

    @classmethod
    def load(cls, path: Path, fallback: Path | None = None) -> CoverageMap:
        stored = json.loads(path.read_text())
        extra = yaml.safe_load(fallback.read_text()) if fallback and fallback.is_file() else {}
        return cls(
            lines=decode_files(stored),
            baseline=dict(stored.get("baseline", {})),
            sections=dict(stored.get("sections", {})),
            fallback={str(k): list(v) for k, v in (extra or {}).items()},
        )

    def _expand(self, names: Iterable[str]) -> list[str]:
        known = self.baseline or self.sections
        out: set[str] = set()
        for name in names:
            found = [i for i in known if i.startswith(name)] if name.endswith(".") else [name]
            if not found or (known and not set(found) <= set(known)):
                raise ValueError(f"fallback map: {name!r} names no checklist id")
            out.update(found)
        return sorted(out)

    def select(self, path: str, line: int) -> Selection:
        by_line = self.lines.get(path, {})
        here = by_line.get(line, frozenset())
        checks = set(here - {BOOT})
        module = {i for ids in by_line.values() for i in ids} - {BOOT}
        # The fallback's boxes go with every line of a module it lists: coverage cannot reach
        # it (the sandbox child), its rules run in compiled code (pydantic constraints), or a
        # background loop runs it under whichever check happens to be running (the poller).
        extra = set(self._expand(self.fallback[path])) if path in self.fallback else set()
        if checks and BOOT in here:
            # Executed at boot too: what the boot did with it (the seed's first backup) is
            # judged by the module's boxes, not only by the checks that ran it again.
            return Selection(sorted(checks | module | extra), "line")
        if checks:
            return Selection(sorted(checks | extra), "line")
        if here and module:  # executed, but only while booting
            return Selection(sorted(module | extra), "module")
        if extra:
            return Selection(sorted(extra), "fallback")
        return Selection([], "none")


def lines_by_check(
    contexts: Mapping[str, Mapping[int, Iterable[str]]],
    checks_of: Mapping[str, list[str]],
    order: Sequence[tuple[float, str]],
) -> dict[str, dict[int, set[str]]]:
    """Coverage contexts (check node ids, or labels outside any check) -> checklist ids per line.

    ``order``: (start time, node id) of each label as the pytest side wrote it. A line executed
    under one check's label counts for the check before it (work it left behind, e.g. a job
    still retrying, runs under the next label) and for every check that started before the
    processes could have noticed the next label (``LABEL_LAG_S`` after it was written): a
    process polls the label file, so checks shorter than its poll run under the label of the
    check before them. A context that is no check's node id (the boot, the stop after the last
    check) becomes BOOT: no check ran then.
    """
    checks = [(t, label) for t, label in order if label in checks_of]
    neighbours: dict[str, set[str]] = {}
    for n, (_, label) in enumerate(checks):
        until = checks[n + 1][0] + LABEL_LAG_S if n + 1 < len(checks) else float("inf")
        later = {other for t, other in checks[n + 1 :] if t <= until}
        neighbours[label] = {checks[max(0, n - 1)][1], label} | later
    out: dict[str, dict[int, set[str]]] = {}
    for path, by_line in contexts.items():
        mapped: dict[int, set[str]] = {}
        for line, labels in by_line.items():
            ids: set[str] = set()
            for label in labels:
                for near in neighbours.get(label, {label}):
                    ids.update(checks_of.get(near, [BOOT]))
            mapped[line] = ids
        out[path] = mapped
    return out


def read_order(text: str) -> list[tuple[float, str]]:
    """The ``.order`` file the labels plug-in appends: ``<unix time> <node id>`` a line."""
    out = []
    for line in text.splitlines():
        stamp, _, label = line.partition(" ")
        out.append((float(stamp), label))
    return out


def checks_of_items(checklist: Mapping[str, Any]) -> dict[str, list[str]]:
    """Node id -> the checklist ids it decides, from a run's checklist.json."""
    out: dict[str, list[str]] = defaultdict(list)
    for item in checklist["items"]:
        for nodeid in item.get("checks", []):
            out[nodeid].append(item["id"])
    return dict(out)


def document(
    lines: Mapping[str, Mapping[int, set[str]]],
    checklist: Mapping[str, Any],
    *,
    command: str,
    commit: str,
    timing: Mapping[str, float],
) -> dict[str, Any]:
    """The JSON the bench reads (and commits): lines, baseline verdicts, sections, provenance."""
    return {
        "schema": 1,
        "command": command,
        "commit": commit,
        "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "timing_s": {k: round(v, 1) for k, v in timing.items()},
        "verdict": checklist.get("verdict"),
        "baseline": {item["id"]: item["verdict"] for item in checklist["items"]},
        "sections": {item["id"]: item["section"] for item in checklist["items"]},
        **encode_files(lines),
    }
