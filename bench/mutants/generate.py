"""The mutants of the platform's code: mutmut's node operators, one change per mutant.

mutmut 3 applies all mutants of a file at once behind "trampolines" and runs its own pytest
runner; neither fits a bench that boots a whole stack per mutant. What we take from it is the
operator list (``mutmut.mutation.mutators.mutation_operators``: comparison and boolean flips,
number and string constants, dropped or ``None``-ed call arguments, ``None``-ed assignments,
``not`` removed, forced conditional expressions, ...), each a function from a libcst node to its
mutated variants. The walk over a file is ours (a few lines): mutmut's own walk skips decorated
functions and module-level code because its trampolines cannot hold them, but FastAPI routes are
decorated and the platform's limits and key prefixes are module-level constants, and a mutant
applied alone to a copy of the file has no such limit.

A mutant's id is ``module:line:operator:index`` (``index`` counts the variants of that operator
on that line, in source order): stable while the line stays where it is, which is what resuming a
run and recording a survivor as equivalent need. The fingerprint (original and mutated node
text) tells when an id now names a different change.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider
from mutmut.mutation.mutators import mutation_operators

# The platform is service/; these folders under it are test infrastructure (emulators of what
# cannot run here, the local stack, fixture data), not the code a release ships.
PLATFORM_ROOT = "service"
NOT_PLATFORM = ("service/emulators", "service/stack", "service/fixtures")
NO_MUTATE = re.compile(r"#\s*pragma:\s*no mutate")
DIFF_CONTEXT = 2


@dataclass(frozen=True)
class Mutant:
    """One change to one module, and where it is."""

    module: str  # dotted: service.security.rate_limits
    path: str  # relative to the checkout: service/ratelimit.py
    line: int
    operator: str  # mutmut's operator function without its "operator_" prefix
    index: int
    fingerprint: str

    @property
    def id(self) -> str:
        return f"{self.module}:{self.line}:{self.operator}:{self.index}"

    @property
    def place(self) -> tuple[str, int, str, int]:
        """The order of listings and samples: module, line, operator, index."""
        return (self.module, self.line, self.operator, self.index)


@dataclass(frozen=True)
class _Site:
    mutant: Mutant
    original: cst.CSTNode
    mutated: cst.CSTNode


def platform_modules(root: Path) -> dict[str, str]:
    """Dotted module name -> relative path of every platform module, found in the tree.

    Nothing here names a module: the layout moves, the rule (service/ minus its test
    infrastructure) does not.
    """
    found: dict[str, str] = {}
    for path in sorted((root / PLATFORM_ROOT).rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if any(relative.startswith(prefix + "/") for prefix in NOT_PLATFORM):
            continue
        parts = relative.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = relative
    return found


def select_modules(modules: dict[str, str], wanted: Sequence[str] | None) -> dict[str, str]:
    """Modules named by dotted name, path or package prefix (``service.jobs`` takes them all)."""
    if not wanted:
        return modules
    chosen: dict[str, str] = {}
    for name in wanted:
        key = name.removesuffix(".py").replace("/", ".")
        hits = {m: p for m, p in modules.items() if m == key or m.startswith(key + ".")}
        if not hits:
            raise ValueError(f"no platform module matches {name!r}")
        chosen.update(hits)
    return dict(sorted(chosen.items()))


class _Collector(cst.CSTVisitor):
    """Every node a mutmut operator applies to, outside annotations and ``no mutate`` lines."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, skip_lines: set[int]) -> None:
        super().__init__()
        self.skip_lines = skip_lines
        self.found: list[tuple[int, str, cst.CSTNode, cst.CSTNode]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        # Annotations only type the code (mutmut skips them too); a mutant there is noise.
        if isinstance(node, cst.Annotation):
            return False
        position = self.get_metadata(PositionProvider, node, None)
        if position is None or position.start.line in self.skip_lines:
            return True
        for node_type, operator in mutation_operators:
            if isinstance(node, node_type):
                name = operator.__name__.removeprefix("operator_")
                for mutated in operator(node):
                    self.found.append((position.start.line, name, node, mutated))
        return True


def _sites(tree: cst.Module, module: str, path: str, source: str) -> Iterator[_Site]:
    skip = {n for n, text in enumerate(source.splitlines(), 1) if NO_MUTATE.search(text)}
    collector = _Collector(skip)
    # unsafe_skip_copy: the nodes found must be the tree's own, so deep_replace finds them.
    MetadataWrapper(tree, unsafe_skip_copy=True).visit(collector)
    seen: Counter[tuple[int, str]] = Counter()
    for line, operator, original, mutated in collector.found:
        before, after = tree.code_for_node(original), tree.code_for_node(mutated)
        if before == after:
            continue
        index = seen[(line, operator)]
        seen[(line, operator)] += 1
        digest = hashlib.sha256(f"{before}\0{after}".encode()).hexdigest()[:12]
        yield _Site(Mutant(module, path, line, operator, index, digest), original, mutated)


def mutants_of(root: Path, module: str, path: str) -> list[Mutant]:
    """All mutants of one module (whether each compiles is found out when it is applied)."""
    source = (root / path).read_text()
    return [site.mutant for site in _sites(cst.parse_module(source), module, path, source)]


def apply(root: Path, mutant: Mutant) -> str:
    """The source of ``mutant.path`` with the mutant applied.

    ValueError when the id no longer names this change (the source moved) or the mutated file
    does not compile (an operator can make, say, a ``return`` outside a function).
    """
    source = (root / mutant.path).read_text()
    tree = cst.parse_module(source)
    for site in _sites(tree, mutant.module, mutant.path, source):
        if site.mutant.id != mutant.id:
            continue
        if site.mutant.fingerprint != mutant.fingerprint:
            raise ValueError(f"{mutant.id} now names another change: the source moved")
        mutated = tree.deep_replace(site.original, site.mutated)
        assert isinstance(mutated, cst.Module)
        try:
            compile(mutated.code, mutant.path, "exec")
        except SyntaxError as exc:
            raise ValueError(f"{mutant.id} does not compile: {exc}") from exc
        return mutated.code
    raise ValueError(f"{mutant.id} is not a mutant of the current {mutant.path}")


def diff(root: Path, mutant: Mutant, mutated: str) -> str:
    """Unified diff of the mutant against the file it mutates."""
    original = (root / mutant.path).read_text()
    lines = difflib.unified_diff(
        original.splitlines(keepends=True),
        mutated.splitlines(keepends=True),
        f"a/{mutant.path}",
        f"b/{mutant.path}",
        n=DIFF_CONTEXT,
    )
    return "".join(lines)


def all_mutants(root: Path, modules: dict[str, str]) -> list[Mutant]:
    """The mutants of the given modules, in a stable order (module, line, operator, index)."""
    found: Iterable[Mutant] = (m for name, p in modules.items() for m in mutants_of(root, name, p))
    return sorted(found, key=lambda m: m.place)
