"""The code's shape, checked: imports go one way (paratopic -> cluster -> embed) with no cycles, and no library
module reads or writes another object's private attributes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("embed", "cluster", "paratopic")
FLOORS = {"embed": 0, "cluster": 1, "paratopic": 2}


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every project module ``name`` imports: at module level, inside functions and under TYPE_CHECKING alike."""
    deps = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                deps.add(candidate if candidate in MODULES else base)
        elif isinstance(node, ast.Import):
            deps.update(alias.name for alias in node.names)
    return {d for d in deps if d in MODULES and d != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
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
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycles():
    assert _cycles() == []


def test_imports_go_one_way_from_the_cli_to_cluster_to_embed():
    upward = [f"{m} imports {d}" for m, deps in GRAPH.items() for d in deps
              if FLOORS[d.split(".")[0]] > FLOORS[m.split(".")[0]]]
    assert upward == []


def test_the_checker_sees_a_cycle_when_there_is_one():
    GRAPH["embed.errors"] = GRAPH["embed.errors"] | {"embed.store.index"}
    try:
        assert any("embed.errors" in c for c in _cycles())
    finally:
        GRAPH["embed.errors"] = _imports("embed.errors", MODULES["embed.errors"])


def _private_uses(path: Path) -> list[str]:
    uses = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                uses.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    return uses


def test_no_module_touches_another_objects_private_attributes():
    assert [use for path in MODULES.values() for use in _private_uses(path)] == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= 500, f"{MODULES[name].relative_to(ROOT)} has {lines} lines"
