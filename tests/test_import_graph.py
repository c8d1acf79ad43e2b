# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The package's modules import each other without a cycle, and the proposer interface knows no implementation.

The graph is read from the sources (``ast``), so function-level imports count as much as top-level
ones: a cycle hidden inside a function still means two modules that cannot be understood, or
loaded, one without the other. Imports under ``if TYPE_CHECKING:`` never run and are left out. An
edge goes to the module named by the import (``from .pkg import name`` goes to ``pkg.name`` when
that is a module, else to the package ``pkg``); the implicit import of a module's parent package
is not an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "modeling_tradefm"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def _modules() -> dict[str, tuple[Path, bool]]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        mods[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return mods


def _imports(name: str, path: Path, is_package: bool, mods) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    type_checking = {
        id(n) for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body for n in ast.walk(stmt)
    }
    package = name if is_package else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    out.add(sub if sub in mods else target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name == PACKAGE or a.name.startswith(PACKAGE + "."))
    return out - {name}


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, is_pkg, mods) for name, (path, is_pkg) in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or ``None``."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        path.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                return path[path.index(v):] + [v]
            if v not in state and (found := visit(v)):
                return found
        path.pop()
        state[u] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    # registry imports both implementations at the top; the generate command imports the driver
    # inside run(), two package levels up
    assert {f"{PACKAGE}.baselines", f"{PACKAGE}.proposer_tradefm"} <= graph[f"{PACKAGE}.registry"]
    assert f"{PACKAGE}.generation_tradefm" in graph[f"{PACKAGE}.commands.generate"]
    assert f"{PACKAGE}.proposer" in graph[f"{PACKAGE}.baselines.hawkes"]


def test_no_import_cycle_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_proposer_interface_imports_none_of_its_implementations():
    graph = import_graph()
    implementations = {f"{PACKAGE}.baselines", f"{PACKAGE}.proposer_tradefm", f"{PACKAGE}.generation_tradefm",
                       f"{PACKAGE}.registry"}
    assert not graph[f"{PACKAGE}.proposer"] & implementations
    # and the driver knows no model: no torch-side module among its imports
    assert not graph[f"{PACKAGE}.generation_tradefm"] & {f"{PACKAGE}.proposer_tradefm", f"{PACKAGE}.sampling",
                                                          f"{PACKAGE}.kv_cache"}
    driver = ast.parse((ROOT / "generation_tradefm.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(driver) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(driver) if isinstance(n, ast.ImportFrom) and not n.level}
    assert not imported & {"torch", "transformers"}, imported
