"""Evidence: the figures that decided a check, attached to its checklist items.

Kept out of ``acceptance.harness.fixtures`` because the plugin's hooks need it too, and a module
that pytest loads as a plugin must not be imported before pytest registers it (assert rewriting).
"""

from __future__ import annotations

import json
from typing import Any

import pytest


class Evidence:
    """Figures that decided a check; they go to every id of the test's checklist marker."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def add(self, **values: Any) -> None:
        """Record figures; values are made JSON-safe now so the reports never choke on them."""
        for name, value in values.items():
            self.data[name] = json.loads(json.dumps(value, default=str))


EVIDENCE_KEY = pytest.StashKey[Evidence]()


def evidence_of(item: pytest.Item) -> Evidence:
    """The item's Evidence, created on first use (hooks and the fixture share it)."""
    if EVIDENCE_KEY not in item.stash:
        item.stash[EVIDENCE_KEY] = Evidence()
    return item.stash[EVIDENCE_KEY]
