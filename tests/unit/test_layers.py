"""Tests of the layers of `hotline`: who imports whom, read from the source with `ast`.

Every import counts, at module level or inside a function: an import moved into a function
to dodge a circular import at load time is still a dependency, and still a cycle.

The direction the code keeps (SPEC and /work/shared/STYLE.md): intake and the staff UI call
the domain packages; among those, routing calls tickets, tickets call sla and notifications,
sla calls notifications, and notifications (the outbox, its senders) call none of them.
Shared building blocks (models, labels, text, cache...) sit under all of them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("hotline", "workers")

# The packages whose mutual imports must form no cycle (issue 13, item 4).
DOMAIN_AND_UI = (
    "hotline.intake",
    "hotline.sla",
    "hotline.notifications",
    "hotline.staff",
    "hotline.tickets",
    "hotline.routing",
)
# Pairs of packages allowed to import each other; none today, and a new one needs a reason.
ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()
# Packages that serve web pages to staff: nothing below them may import them.
STAFF_UI = ("hotline.staff", "hotline.admin")
BELOW_THE_UI = (
    "hotline.intake",
    "hotline.tickets",
    "hotline.sla",
    "hotline.routing",
    "hotline.notifications",
)


@dataclass(frozen=True)
class Import:
    """One import statement's target, as the importing module sees it."""

    importer: str  # the importing module, e.g. "hotline.intake.sms"
    target: str  # the module imported, e.g. "hotline.notifications.sms"
    names: tuple[str, ...]  # the names taken by `from target import ...` (empty for `import`)
    where: str  # "hotline/intake/sms.py:27", for the failure messages


def module_name(path: Path, root: Path = ROOT) -> str:
    """Return the dotted name of the module in PATH (a package is its __init__.py)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: frozenset[str], root: Path = ROOT) -> list[Import]:
    """Return every import in the file at PATH, at any depth, with relative ones resolved.

    `from a import b` targets the module a.b when there is one (b is a submodule), else a.
    """
    importer = module_name(path, root)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    where = str(path.relative_to(root))
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(importer, alias.name, (), f"{where}:{node.lineno}"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                target = submodule if submodule in modules else base
                found.append(Import(importer, target, (alias.name,), f"{where}:{node.lineno}"))
    return found


@cache
def project_imports() -> tuple[Import, ...]:
    """Return the imports of every module of `hotline` and `workers`."""
    files = [path for source in SOURCES for path in sorted((ROOT / source).rglob("*.py"))]
    modules = frozenset(module_name(path, ROOT) for path in files)
    return tuple(found for path in files for found in imports_of(path, modules, ROOT))


def package_of(module: str) -> str:
    """Return the top-level package (or module) of MODULE: "hotline.sla" for hotline.sla.x."""
    return ".".join(module.split(".")[:2])


def package_edges(imports: tuple[Import, ...] | list[Import]) -> dict[tuple[str, str], list[str]]:
    """Return, for each (importer package, imported package) of the project, where it is."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for found in imports:
        if not found.target.startswith("hotline"):
            continue
        pair = (package_of(found.importer), package_of(found.target))
        if pair[0] != pair[1]:
            edges[pair].append(found.where)
    return edges


def cycles(edges: dict[tuple[str, str], list[str]], nodes: tuple[str, ...]) -> list[list[str]]:
    """Return the strongly connected groups of two or more NODES (each holds a cycle)."""
    graph = {node: sorted({b for a, b in edges if a == node and b in nodes}) for node in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graph has a handful of nodes
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in nodes:
        if node not in index:
            visit(node)
    return groups


def _describe(group: list[str], edges: dict[tuple[str, str], list[str]]) -> str:
    """Name one shortest loop through the group's first package, with where each step is."""
    start = group[0]
    paths = {start: [start]}
    queue = [start]
    loop: list[str] = []
    while queue and not loop:
        node = queue.pop(0)
        for a, b in sorted(edges):
            if a != node or b not in group:
                continue
            if b == start:
                loop = [*paths[node], start]
                break
            if b not in paths:
                paths[b] = [*paths[node], b]
                queue.append(b)
    lines = [f"{' -> '.join(loop)} (one loop of {', '.join(group)})"]
    for a, b in zip(loop, loop[1:], strict=False):
        places = sorted(set(edges[(a, b)]))
        more = f" and {len(places) - 3} more" if len(places) > 3 else ""
        lines.append(f"  {a} -> {b}: {', '.join(places[:3])}{more}")
    return "\n".join(lines)


def test_no_cycle_between_the_domain_packages_and_the_staff_ui():
    """Test that intake, sla, notifications, staff, tickets and routing import each other
    in one direction only (no cycle of any length), function-level imports included."""
    edges = package_edges(project_imports())
    found = [
        group
        for group in cycles(edges, DOMAIN_AND_UI)
        if not (len(group) == 2 and frozenset(group) in ALLOWED_CYCLES)
    ]
    assert not found, "import cycles:\n" + "\n".join(_describe(g, edges) for g in found)


def test_no_cycle_between_any_two_parts_of_hotline():
    """Test that no two top-level packages or modules of hotline (the app factory apart,
    which imports everything to wire it) import each other, directly or around a loop."""
    edges = package_edges(project_imports())
    edges = {pair: places for pair, places in edges.items() if "hotline" not in pair}
    nodes = tuple(sorted({node for pair in edges for node in pair}))
    found = cycles(edges, nodes)
    assert not found, "import cycles:\n" + "\n".join(_describe(g, edges) for g in found)


def test_the_layers_below_the_staff_ui_never_import_it():
    """Test that intake, tickets, sla, routing and notifications import nothing from the
    staff or admin pages (labels and reference data live below them)."""
    wrong = [
        f"{found.where}: {found.importer} imports {found.target}"
        for found in project_imports()
        if package_of(found.importer) in BELOW_THE_UI and package_of(found.target) in STAFF_UI
    ]
    assert not wrong, "\n".join(wrong)


def test_no_private_name_is_imported_across_packages():
    """Test that no module takes a `_private` name from another top-level package or module
    (workers included): a helper used elsewhere is public, named and documented."""
    wrong = [
        f"{found.where}: from {found.target} import {name}"
        for found in project_imports()
        if found.target.startswith("hotline")
        and package_of(found.importer) != package_of(found.target)
        for name in found.names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not wrong, "\n".join(wrong)


# --- the checks themselves can fail ------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> list[Import]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    paths = sorted(root.rglob("*.py"))
    modules = frozenset(module_name(path, root) for path in paths)
    return [found for path in paths for found in imports_of(path, modules, root)]


def test_function_level_and_relative_imports_are_seen(tmp_path):
    """Test that an import inside a function and a relative import are both found, and that
    `from package import submodule` targets the submodule."""
    imports = _write(
        tmp_path,
        {
            "hotline/__init__.py": "",
            "hotline/sla/__init__.py": "",
            "hotline/sla/cycle.py": "def f():\n    from hotline.notifications import outbox\n",
            "hotline/notifications/__init__.py": "",
            "hotline/notifications/outbox.py": "from ..sla.cycle import _policies\n",
        },
    )
    targets = {(found.importer, found.target, found.names) for found in imports}
    assert ("hotline.sla.cycle", "hotline.notifications.outbox", ("outbox",)) in targets
    assert ("hotline.notifications.outbox", "hotline.sla.cycle", ("_policies",)) in targets
    edges = package_edges(imports)
    assert cycles(edges, ("hotline.sla", "hotline.notifications")) == [
        ["hotline.notifications", "hotline.sla"]
    ]


@pytest.mark.parametrize(
    "pairs, expected",
    [
        ([("a", "b"), ("b", "c")], []),
        ([("a", "b"), ("b", "a")], [["a", "b"]]),
        ([("a", "b"), ("b", "c"), ("c", "a")], [["a", "b", "c"]]),
    ],
)
def test_cycles_are_found_whatever_their_length(pairs, expected):
    """Test that a two-way import and a longer loop are both reported, a chain is not."""
    edges = {pair: ["x.py:1"] for pair in pairs}
    assert cycles(edges, ("a", "b", "c")) == expected
