"""Reading the operations artefacts (ops/): alert rules, runbook sections, YAML files, tools.

The Alerting, contacts, communication and ToS checks judge files, not the target, so they share
one way of finding a file (relative to the repository), of reading alert rules, of turning a
``runbook_url`` into a Markdown section, and of running promtool/amtool with a deadline.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from acceptance.harness.verdicts import not_verified

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# A PromQL identifier; words in strings and label matchers are removed before matching.
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def artefact(pytestconfig: pytest.Config, path: Path) -> Path:
    """``path`` resolved against the repository root; a missing artefact fails the check."""
    resolved = path if path.is_absolute() else pytestconfig.rootpath / path
    assert resolved.is_file(), f"{path}: no such file"
    return resolved


def load_yaml(path: Path) -> Any:
    """Parsed YAML; a file that does not parse fails the check with the parser's message."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AssertionError(f"{path}: not valid YAML: {exc}") from exc


def duration_s(text: str | None) -> float | None:
    """Seconds of a Prometheus duration ("1h30m", "30s"); None when absent."""
    if text is None:
        return None
    parts = _DURATION.findall(str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        raise AssertionError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNIT_S[u] for n, u in parts)


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule, as written in a rule file."""

    name: str
    expr: str
    for_s: float | None
    labels: dict[str, str]
    annotations: dict[str, str]
    source: str

    @property
    def severity(self) -> str | None:
        return self.labels.get("severity")


def load_alert_rules(paths: list[Path]) -> list[AlertRule]:
    """Every alerting rule (recording rules skipped) of the given rule files."""
    rules: list[AlertRule] = []
    for path in paths:
        data = load_yaml(path) or {}
        for group in data.get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" not in rule:
                    continue
                rules.append(
                    AlertRule(
                        name=str(rule["alert"]),
                        expr=str(rule.get("expr", "")),
                        for_s=duration_s(rule.get("for")),
                        labels={str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                        annotations={
                            str(k): str(v) for k, v in (rule.get("annotations") or {}).items()
                        },
                        source=f"{path.name}:{group.get('name')}",
                    )
                )
    return rules


def expr_metrics(expr: str) -> set[str]:
    """Identifiers of an expression that can be metric names (strings, matchers stripped)."""
    bare = _STRING.sub('""', expr)
    bare = re.sub(r"\{[^}]*\}", " ", bare)  # label matchers
    bare = re.sub(r"\[[^\]]*\]", " ", bare)  # range selectors
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    return set(_IDENT.findall(bare))


def parse_selector(selector: str) -> tuple[str, list[str]]:
    """Metric name and label matchers of ``name{a="b",c=~"d"}`` (matchers kept as text)."""
    name, _, rest = selector.partition("{")
    matchers = [m.strip() for m in rest.rstrip("}").split(",") if m.strip()]
    return name.strip(), matchers


def uses_selector(expr: str, selector: str) -> bool:
    """The expression selects the metric with every label matcher of ``selector``."""
    name, matchers = parse_selector(selector)
    if name not in expr_metrics(expr):
        return False
    compact = re.sub(r"\s+", "", expr)
    return all(re.sub(r"\s+", "", m) in compact for m in matchers)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading (lower case, punctuation dropped, - for space)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def markdown_sections(text: str) -> dict[str, str]:
    """Anchor -> body (up to the next heading of the same or a higher level) of each heading."""
    lines = text.splitlines()
    heads = [
        (i, len(m.group(1)), m.group(2)) for i, ln in enumerate(lines) if (m := _HEADING.match(ln))
    ]
    sections: dict[str, str] = {}
    for n, (start, level, title) in enumerate(heads):
        end = next((i for i, lv, _ in heads[n + 1 :] if lv <= level), len(lines))
        sections.setdefault(github_slug(title), "\n".join(lines[start + 1 : end]))
    return sections


def runbook_target(url: str, runbooks_dir: Path) -> tuple[Path, str]:
    """The local runbook file and anchor a ``runbook_url`` names (its file name and fragment)."""
    parts = urlsplit(url)
    return runbooks_dir / Path(parts.path).name, parts.fragment


def tool(name: str) -> str:
    """Full path of an installed executable; not verified when it is missing."""
    found = shutil.which(name)
    if found is None:
        not_verified(f"{name} is not installed (Debian: prometheus / prometheus-alertmanager)")
    return found


def run_tool(argv: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    """Run a checker with a deadline; its combined output is returned for the evidence."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{Path(argv[0]).name} did not finish within {timeout_s} s") from exc


def exposed_metric_names(exposition: str) -> set[str]:
    """Every series name a Prometheus text exposition offers, also of families without samples
    yet (a labelled counter nobody has incremented still exists, and alerts on it are valid)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum"),
        "summary": ("_count", "_sum"),
    }
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(family.name + s for s in suffixes.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names
