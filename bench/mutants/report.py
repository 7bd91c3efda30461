"""``python -m bench.mutants report DIR``: mutation score per module and per checklist section.

Score = killed (by a box or by the boot) / (killed + survived + no coverage), leaving out the
mutants recorded as equivalent (``bench/mutants_equivalent.yaml``), timed-out and invalid ones
(both counted apart). Per section: of the counted mutants whose selected boxes include one of
the section's, the share a box of that section failed on (``killed here``) and the share the
gate caught at all (``killed``). Every survivor is listed with its diff, and with the triage's
decision where the same file records it under ``not_checked``: a real difference the gate
deliberately leaves unchecked (prose wording, a path no check can reach here), still counted
as a survivor, so that the score never improves by a decision alone.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_EQUIVALENTS = Path("bench/mutants_equivalent.yaml")
KILLED = frozenset({"killed", "killed_boot"})
COUNTED = KILLED | {"survived", "no_coverage"}


@dataclass(frozen=True)
class Equivalent:
    id: str
    reason: str
    fingerprint: str | None = None


def load_equivalents(path: Path, key: str = "equivalent") -> dict[str, Equivalent]:
    """The equivalents file: ``equivalent: [{id, reason, fingerprint?}]``; with
    ``key="not_checked"`` the survivors the triage decided to leave, in the same shape."""
    if not path.is_file():
        return {}
    entries = (yaml.safe_load(path.read_text()) or {}).get(key) or []
    found: dict[str, Equivalent] = {}
    for entry in entries:
        if not entry.get("reason"):
            raise ValueError(f"{path}: {key} {entry.get('id')!r} has no reason")
        found[entry["id"]] = Equivalent(entry["id"], entry["reason"], entry.get("fingerprint"))
    return found


def _matches(entry: Equivalent, record: Mapping[str, Any]) -> bool:
    """The entry names this change (no fingerprint, or the record's)."""
    return entry.fingerprint in (None, record.get("fingerprint"))


def _score(killed: int, counted: int) -> float | None:
    return round(killed / counted, 3) if counted else None


def summarise(
    records: Iterable[Mapping[str, Any]],
    equivalents: Mapping[str, Equivalent],
    sections: Mapping[str, str],
    not_checked: Mapping[str, Equivalent] | None = None,
) -> dict[str, Any]:
    """The report as data (report.json); ``sections``: checklist id -> section title."""
    kept: list[Mapping[str, Any]] = []
    applied: list[dict[str, str]] = []
    stale: list[dict[str, str]] = []
    for record in records:
        equivalent = equivalents.get(record["id"])
        if equivalent and not _matches(equivalent, record):
            stale.append({"id": record["id"], "reason": equivalent.reason})
        elif equivalent:
            applied.append({"id": record["id"], "reason": equivalent.reason})
            continue
        kept.append(record)
    statuses = Counter(r["status"] for r in kept)
    counted = [r for r in kept if r["status"] in COUNTED]
    killed = sum(1 for r in counted if r["status"] in KILLED)
    modules: dict[str, Counter[str]] = defaultdict(Counter)
    for record in kept:
        modules[record["module"]][record["status"]] += 1
    return {
        "mutants": len(kept) + len(applied),
        "statuses": dict(statuses),
        "equivalent": applied,
        "stale_equivalents": stale,
        "score": _score(killed, len(counted)),
        "per_module": {
            name: {
                **counts,
                "score": _score(sum(counts[s] for s in KILLED), sum(counts[s] for s in COUNTED)),
            }
            for name, counts in sorted(modules.items())
        },
        "per_section": _per_section(counted, sections),
        "survivors": [
            _survivor(r, (not_checked or {}).get(r["id"]))
            for r in kept
            if r["status"] in ("survived", "no_coverage")
        ],
        "timing_s": _timing(kept),
    }


def _prefix(checklist_id: str) -> str:
    return checklist_id.split(".", 1)[0]


def _per_section(
    counted: Iterable[Mapping[str, Any]], sections: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    for record in counted:
        failed = {_prefix(i) for i in record.get("failed", [])}
        for prefix in sorted({_prefix(i) for i in record.get("ids", [])}):
            rows[prefix]["covered"] += 1
            rows[prefix]["killed"] += record["status"] in KILLED
            rows[prefix]["killed_here"] += record["status"] == "killed_boot" or prefix in failed
    titles = {_prefix(i): title for i, title in sections.items()}
    return {
        prefix: {
            "section": titles.get(prefix, prefix),
            **row,
            "score_here": _score(row["killed_here"], row["covered"]),
            "score": _score(row["killed"], row["covered"]),
        }
        for prefix, row in sorted(rows.items())
    }


def _survivor(record: Mapping[str, Any], decision: Equivalent | None) -> dict[str, Any]:
    keys = ("id", "status", "selection", "ids", "unverified", "fingerprint", "diff")
    return {
        **{k: record.get(k) for k in keys},
        "not_checked": (
            decision.reason if decision is not None and _matches(decision, record) else None
        ),
    }


def _timing(records: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    booted = [r for r in records if "boot_s" in r]
    out: dict[str, float | None] = {}
    for key in ("boot_s", "checks_s", "total_s"):
        values = sorted(float(r[key]) for r in booted if key in r)
        out[f"median_{key}"] = values[len(values) // 2] if values else None
    return out


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def markdown(summary: Mapping[str, Any]) -> str:
    """report.md: the scores, then every survivor with its diff."""
    lines = [
        "# Mutation report",
        "",
        f"Mutants: {summary['mutants']}; outcomes: {summary['statuses']}; "
        f"equivalent (not counted): {len(summary['equivalent'])}; survivors left unchecked by"
        f" the triage's decision (counted): "
        f"{sum(1 for s in summary['survivors'] if s.get('not_checked'))}.",
        "",
        f"**Score: {pct(summary['score'])}** (killed / killed + survived + no coverage).",
        "",
        "Median per booted mutant: "
        + ", ".join(
            f"{k.removeprefix('median_')[:-2]} {v} s" for k, v in summary["timing_s"].items()
        )
        + ".",
        "",
        "## Per module",
        "",
        "| module | killed | boot | survived | no coverage | timeout | score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in summary["per_module"].items():
        lines.append(
            f"| {name} | {row.get('killed', 0)} | {row.get('killed_boot', 0)} | "
            f"{row.get('survived', 0)} | {row.get('no_coverage', 0)} | "
            f"{row.get('timeout', 0)} | {pct(row['score'])} |"
        )
    lines += [
        "",
        "## Per checklist section",
        "",
        "| section | mutants run | killed here | killed | score here | score |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for prefix, row in summary["per_section"].items():
        lines.append(
            f"| {row['section']} (`{prefix}`) | {row['covered']} | {row['killed_here']} "
            f"| {row['killed']} | {pct(row['score_here'])} | {pct(row['score'])} |"
        )
    lines += ["", "## Survivors", ""]
    for survivor in summary["survivors"]:
        ran = ", ".join(survivor["ids"] or []) or "no check executes the line"
        lines += [
            f"### `{survivor['id']}` ({survivor['status']}, {survivor['selection']})",
            "",
            f"Boxes run: {ran}.",
        ]
        if survivor.get("not_checked"):
            lines.append(f"Not checked, by the triage's decision: {survivor['not_checked']}")
        if survivor.get("unverified"):
            lines.append(
                f"Ended not verified (passed in the map's run): "
                f"{', '.join(survivor['unverified'])}."
            )
        lines += ["", "```diff", (survivor.get("diff") or "").rstrip(), "```", ""]
    if summary["stale_equivalents"]:
        lines += ["## Stale equivalents (the id now names another change)", ""]
        lines += [f"- `{e['id']}`: {e['reason']}" for e in summary["stale_equivalents"]]
    return "\n".join(lines) + "\n"


def write(out: Path, summary: Mapping[str, Any]) -> None:
    (out / "report.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    (out / "report.md").write_text(markdown(summary))
