"""The measurable shape of the code (issue 13), read from the source with :mod:`ast`.

Every module under ``sequences/``, ``simulator/``, ``drivers/`` and ``echo/`` (installed as
``spin_echo.sequences`` and so on) is parsed, and every ``import`` statement is an edge of
the module graph: at the top, inside functions and under ``if TYPE_CHECKING:`` alike (a
deferred import is still a dependency; a type-only one still couples the two modules). An
edge goes to the module named (``from spin_echo.simulator import kernels`` -> the
``kernels`` module; ``from spin_echo.simulator import Sample`` -> the package's
``__init__``), never to the parent packages Python also initialises on the way.

Rules:

- no import cycle between modules;
- no private (underscore) name taken from another module, neither imported
  (``from m import _x``) nor reached through an imported module (``m._x``);
- at most :data:`MAX_MODULES` modules directly in one folder (``__init__.py`` not counted)
  and at most :data:`MAX_LINES` lines in one module;
- the flow ``sequences -> simulator | drivers -> echo``: ``sequences`` imports none of the
  other three; ``simulator`` imports ``sequences`` only; ``drivers`` imports ``sequences``,
  and ``simulator`` only from the virtual bench (:data:`VIRTUAL_BENCH`: the one driver whose
  instrument *is* the simulator); nothing outside ``echo`` imports ``echo``.

Each failure lists the offending edges or names with file and line.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sequences", "simulator", "drivers", "echo")
NAMESPACE = "spin_echo"
MAX_MODULES = 15
MAX_LINES = 500
#: What each package may import from the others (the flow sequences -> simulator | drivers
#: -> echo); a package always may import itself.
ALLOWED = {
    "sequences": set(),
    "simulator": {"sequences"},
    "drivers": {"sequences"},
    "echo": {"sequences", "simulator", "drivers"},
}
#: Modules of ``drivers`` that may import ``simulator``: the virtual bench, whose detector
#: propagates the sample (the emulated lab of ``serve-virtual-lab`` reuses it through
#: ``drivers.virtual``, not the simulator directly).
VIRTUAL_BENCH = ("spin_echo.drivers.virtual",)


@dataclass(frozen=True)
class Edge:
    """One import statement: ``source`` imports ``target`` at ``path:line``."""

    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} -> {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([NAMESPACE, *parts])


def _files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                files[_module_name(path)] = path
    return files


FILES = _files()
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in FILES.items()}


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if FILES[module].name == "__init__.py" else module.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _imports(module: str) -> tuple[list[Edge], list[str], dict[str, str]]:
    """Return the module's edges, its private imports, and ``alias -> module`` bindings."""
    rel = str(FILES[module].relative_to(ROOT))
    edges: list[Edge] = []
    private: list[str] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in FILES:
                    edges.append(Edge(module, alias.name, rel, node.lineno))
                    if alias.asname:
                        aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            if not base.startswith(NAMESPACE):
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                target = full if full in FILES else base
                if target in FILES:
                    edges.append(Edge(module, target, rel, node.lineno))
                if full in FILES:
                    aliases[alias.asname or alias.name] = full
                name = alias.name
                if name.startswith("_") and not name.startswith("__") and base != module:
                    private.append(f"{rel}:{node.lineno}: from {base} import {name}")
    return edges, private, aliases


GRAPH = {name: _imports(name) for name in FILES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or self-imports."""
    succ = defaultdict(set)
    for edges, _, _ in GRAPH.values():
        for edge in edges:
            succ[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(succ[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in succ[v]:
                found.append(sorted(component))

    for v in sorted(FILES):
        if v not in index:
            visit(v)
    return found


def _package(module: str) -> str:
    return module.split(".")[1]


def test_the_checker_sees_the_tree() -> None:
    assert len(FILES) > 50
    targets = {edge.target for edges, _, _ in GRAPH.values() for edge in edges}
    assert {"spin_echo.sequences.timeline", "spin_echo.simulator"} <= targets


def test_no_import_cycles() -> None:
    report = []
    for component in _cycles():
        members = set(component)
        inside = sorted({str(e) for m in component for e in GRAPH[m][0] if e.target in members})
        report.append("cycle of " + ", ".join(component) + ":\n    " + "\n    ".join(inside))
    assert not report, "import cycles:\n" + "\n".join(report)


def test_no_private_names_across_modules() -> None:
    found = []
    for module in FILES:
        _, private, aliases = GRAPH[module]
        found += private
        rel = str(FILES[module].relative_to(ROOT))
        for node in ast.walk(TREES[module]):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and aliases[node.value.id] != module
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{rel}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not found, "private names taken from other modules:\n" + "\n".join(sorted(found))


def test_folder_and_module_sizes() -> None:
    per_folder: dict[Path, list[str]] = defaultdict(list)
    for path in FILES.values():
        if path.name != "__init__.py":
            per_folder[path.parent].append(path.name)
    crowded = [
        f"{folder.relative_to(ROOT)}/: {len(names)} modules ({', '.join(sorted(names))})"
        for folder, names in sorted(per_folder.items())
        if len(names) > MAX_MODULES
    ]
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in FILES.values()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not crowded, f"folders with more than {MAX_MODULES} modules:\n" + "\n".join(crowded)
    assert not long, f"modules over {MAX_LINES} lines:\n" + "\n".join(long)


def test_the_flow_sequences_simulator_drivers_echo() -> None:
    against = []
    for module in FILES:
        source = _package(module)
        for edge in GRAPH[module][0]:
            target = _package(edge.target)
            if target == source or target in ALLOWED[source]:
                continue
            if source == "drivers" and target == "simulator" and module in VIRTUAL_BENCH:
                continue
            if str(edge) not in against:
                against.append(str(edge))
    assert not against, "imports against sequences -> simulator | drivers -> echo:\n" + "\n".join(
        against
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from spin_echo.simulator import kernels", "spin_echo.simulator.kernels"),
        ("from spin_echo.simulator import Sample", "spin_echo.simulator"),
        ("import spin_echo.simulator.bath as b", "spin_echo.simulator.bath"),
        ("from . import bloch", "spin_echo.simulator.bloch"),
        ("from ..sequences.timeline import Timeline", "spin_echo.sequences.timeline"),
    ],
)
def test_edges_are_resolved(source, expected, monkeypatch) -> None:
    module = "spin_echo.simulator.propagator"
    monkeypatch.setitem(TREES, module, ast.parse(source))
    edges, _, _ = _imports(module)
    assert [e.target for e in edges] == [expected]


def test_private_imports_are_seen(monkeypatch) -> None:
    module = "spin_echo.simulator.propagator"
    monkeypatch.setitem(TREES, module, ast.parse("from spin_echo.simulator.bloch import _x"))
    expected = "simulator/propagator.py:1: from spin_echo.simulator.bloch import _x"
    assert _imports(module)[1] == [expected]
