"""Every box of the checklist has at least one check, and every check names real boxes."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT.parent / "shared" / "checklist-spec.yaml"


def checklist_ids() -> list[str]:
    data = yaml.safe_load((ROOT / "acceptance" / "checklist.yaml").read_text())
    return [item["id"] for item in data["items"]]


def marked_ids() -> dict[str, list[str]]:
    """Ids in `pytest.mark.checklist(...)` decorators of the acceptance test modules."""
    found: dict[str, list[str]] = {}
    for module in sorted((ROOT / "acceptance").rglob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "checklist"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.setdefault(arg.value, []).append(module.name)
    return found


def test_every_checklist_id_has_a_check() -> None:
    """A box without a check would silently stay 'not verified: no check' forever."""
    missing = [i for i in checklist_ids() if i not in marked_ids()]
    assert not missing, f"checklist ids without a check: {missing}"


def test_checks_name_only_known_ids() -> None:
    unknown = sorted(set(marked_ids()) - set(checklist_ids()))
    assert not unknown, f"checks name ids that are not in the checklist: {unknown}"


def test_checklist_matches_the_specification() -> None:
    """acceptance/checklist.yaml carries exactly the 109 ids of the specification, in order."""
    ids = checklist_ids()
    assert len(ids) == 109 and len(set(ids)) == 109
    if SPEC.exists():  # the specification lives beside the repository where it was written
        assert ids == [entry["id"] for entry in yaml.safe_load(SPEC.read_text())]


def test_every_phase_selects_its_own_checks() -> None:
    """`-m "preflight and <phase>"` runs a non-empty set of checks for each release phase."""
    items = yaml.safe_load((ROOT / "acceptance" / "checklist.yaml").read_text())["items"]
    phase_of = {item["id"]: item["phase"] for item in items}
    marked = marked_ids()
    for phase in ("predeploy", "postdeploy_5m", "postdeploy_1h", "postdeploy_24h"):
        assert any(phase_of[i] == phase for i in marked), f"no check selected by {phase}"
