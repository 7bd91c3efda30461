"""Is this checkout's Python package installed, with its extras, in the running interpreter?

Used by scripts/setup to skip ``pip install`` when nothing is missing (an editable reinstall
needs the network for its build backend and takes seconds to minutes). Standard library only
(plus ``packaging`` when present), since it runs before anything is installed.

Exit status: 0 all present and installed from this checkout; 3 all present, but the project is
installed from another checkout (printed; scripts/setup leaves that environment as it is); 1
something is missing (printed). Usage: ``python scripts/python_deps.py EXTRA[,EXTRA...]``.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT_GROUP = "pytest11"


def missing_requirements(extras: list[str]) -> list[str]:
    """Requirements of pyproject.toml (base plus ``extras``) not satisfied here, one level of
    the requirements' own extras included (``uvicorn[standard]`` needs httptools)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return ["the requirements (not even `packaging` is installed)"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project.get("optional-dependencies", {}).get(extra, [])
    missing = []
    for text in wanted:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(text)
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{text} (installed {version})")
            continue
        for sub in metadata.requires(requirement.name) or []:
            nested = Requirement(sub)
            marker = nested.marker
            if marker is not None and any(
                marker.evaluate({"extra": e}) for e in requirement.extras
            ):
                try:
                    metadata.version(nested.name)
                except metadata.PackageNotFoundError:
                    missing.append(f"{nested.name} (for {text})")
    return missing


def installed_from() -> tuple[Path | None, bool]:
    """Where the installed ``preflight`` comes from (None: not installed, or from a wheel) and
    whether its metadata has the plugin's entry point (older installs lack it)."""
    try:
        dist = metadata.distribution("preflight")
    except metadata.PackageNotFoundError:
        return None, False
    has_entry_point = any(ep.group == ENTRY_POINT_GROUP for ep in dist.entry_points)
    url = str(json.loads(dist.read_text("direct_url.json") or "{}").get("url", ""))
    return (
        Path(url.removeprefix("file://")) if url.startswith("file://") else None
    ), has_entry_point


def main() -> int:
    extras = [e for e in (sys.argv[1] if len(sys.argv) > 1 else "").split(",") if e]
    missing = missing_requirements(extras)
    where, has_entry_point = installed_from()
    elsewhere = where is not None and where.resolve() != ROOT
    if not elsewhere and (where is None or not has_entry_point):
        missing.append("preflight from this checkout (pip install -e .)")
    if missing:
        print("missing: " + "; ".join(missing))
    if elsewhere:
        stale = "" if has_entry_point else f"; `pip install -e {where}` refreshes its metadata"
        print(f"preflight is installed from {where}, not from {ROOT}{stale}")
    return 1 if missing else 3 if elsewhere else 0


if __name__ == "__main__":
    sys.exit(main())
