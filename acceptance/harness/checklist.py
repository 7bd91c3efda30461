"""The release checklist as data, loaded once from ``acceptance/checklist.yaml``.

Everything that needs the list of boxes (markers, aggregation, reports) reads it here, so the
order of the release checklist and the set of 109 ids have exactly one source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CHECKLIST_PATH = Path(__file__).resolve().parents[1] / "checklist.yaml"
CATEGORIES = ("functional", "performance", "security", "compliance")
PHASES = ("predeploy", "postdeploy_5m", "postdeploy_1h", "postdeploy_24h")
MODES = ("auto", "stack", "evidence")
# Most severe first (reports order open items by it).
IMPACTS = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class ChecklistItem:
    """One box of the release checklist."""

    id: str
    part: str
    section: str
    directory: str
    category: str
    phase: str
    mode: str
    impact: str
    text: str
    how: str


@dataclass(frozen=True)
class Checklist:
    """All boxes in the order of the release checklist."""

    items: tuple[ChecklistItem, ...]

    def __post_init__(self) -> None:
        ids = [item.id for item in self.items]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate checklist ids: {', '.join(duplicates)}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    def get(self, item_id: str) -> ChecklistItem | None:
        return next((item for item in self.items if item.id == item_id), None)

    def __getitem__(self, item_id: str) -> ChecklistItem:
        item = self.get(item_id)
        if item is None:
            raise KeyError(item_id)
        return item

    def __contains__(self, item_id: object) -> bool:
        return any(item.id == item_id for item in self.items)


def _parse_item(raw: dict[str, Any]) -> ChecklistItem:
    """Validate the closed vocabularies here, so a typo fails loudly instead of as a bad marker."""
    item = ChecklistItem(**{name: str(raw[name]) for name in ChecklistItem.__dataclass_fields__})
    for value, allowed, what in (
        (item.category, CATEGORIES, "category"),
        (item.phase, PHASES, "phase"),
        (item.mode, MODES, "mode"),
        (item.impact, IMPACTS, "impact"),
    ):
        if value not in allowed:
            raise ValueError(f"checklist item {item.id}: unknown {what} {value!r}")
    return item


def parse_checklist(data: dict[str, Any]) -> Checklist:
    """Build a Checklist from the YAML document (schema 1)."""
    if data.get("schema") != 1:
        raise ValueError(f"unsupported checklist schema {data.get('schema')!r}")
    return Checklist(items=tuple(_parse_item(raw) for raw in data["items"]))


@cache
def load_checklist(path: Path = CHECKLIST_PATH) -> Checklist:
    """The checklist; cached: every hook and report needs it and it never changes in a run."""
    with path.open(encoding="utf-8") as handle:
        return parse_checklist(yaml.safe_load(handle))
