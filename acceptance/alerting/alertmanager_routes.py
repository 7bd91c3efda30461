"""Reading an Alertmanager configuration: routes with inherited timings, matchers, inhibit rules.

The fatigue check needs each route's *effective* repeat interval (children inherit their
parent's). The copy whose notifications go to a loopback receiver (the channel check must never
notify a real pager from a test) is ``service.stack.monitoring_config.loopback_copy``, which the
reference stack's Alertmanager runs with too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from acceptance.support.ops_artefacts import duration_s

_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')
TIMINGS = ("group_wait", "group_interval", "repeat_interval")


@dataclass(frozen=True)
class Route:
    """A route of the tree with the values it inherits from its parents."""

    path: str
    receiver: str | None
    matchers: tuple[tuple[str, str, str], ...]
    group_by: tuple[str, ...]
    timings: dict[str, float | None]


def matchers(node: dict[str, Any], new: str, old: str, old_re: str) -> list[tuple[str, str, str]]:
    """(label, op, value) of a route or inhibit side, in the new (``matchers``) or old
    (``match``/``match_re``) syntax."""
    found: list[tuple[str, str, str]] = []
    for text in node.get(new) or []:
        parsed = _MATCHER.match(str(text))
        if parsed:
            found.append((parsed.group(1), parsed.group(2), parsed.group(3)))
    found += [(str(k), "=", str(v)) for k, v in (node.get(old) or {}).items()]
    found += [(str(k), "=~", str(v)) for k, v in (node.get(old_re) or {}).items()]
    return found


def routes(config: dict[str, Any]) -> Iterator[Route]:
    """Every route of the tree, root first, each with its inherited receiver and timings."""

    def walk(node: dict[str, Any], path: str, parent: Route | None) -> Iterator[Route]:
        timings = {
            key: duration_s(node[key]) if key in node else (parent.timings[key] if parent else None)
            for key in TIMINGS
        }
        route = Route(
            path=path,
            receiver=node.get("receiver") or (parent.receiver if parent else None),
            matchers=tuple(matchers(node, "matchers", "match", "match_re")),
            group_by=tuple(node.get("group_by") or (parent.group_by if parent else ())),
            timings=timings,
        )
        yield route
        for n, child in enumerate(node.get("routes") or []):
            yield from walk(child, f"{path}.routes[{n}]", route)

    yield from walk(config.get("route") or {}, "route", None)
