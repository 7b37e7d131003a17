"""The shape of cluster/topics and cluster/stories: no module reaches into another object's private
attributes, no module over 500 lines, and the import graph of cluster/ has no cycle (imports inside
functions and under TYPE_CHECKING count), checked on the source with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OWN = [ROOT / "cluster" / "topics", ROOT / "cluster" / "stories"]


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
            for p in sorted((ROOT / "cluster").rglob("*.py"))}


def private_reaches(source: str) -> list[str]:
    """``obj._name`` uses where ``obj`` is not ``self`` or ``cls`` (dunder names aside)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def imports_of(source: str, names: set[str]) -> set[str]:
    """The modules of ``names`` that ``source`` imports anywhere (absolute imports)."""
    deps = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                deps.add(full if full in names else node.module)
        elif isinstance(node, ast.Import):
            deps.update(alias.name for alias in node.names)
    return deps & names


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


@pytest.mark.parametrize("path", [p for folder in OWN for p in sorted(folder.glob("*.py"))], ids=lambda p: p.name)
def test_no_private_reach_ins_and_no_long_modules(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert private_reaches(source) == []
    assert len(source.splitlines()) <= 500


def test_the_cluster_import_graph_has_no_cycle() -> None:
    modules = _modules()
    names = set(modules)
    graph = {m: imports_of(p.read_text(encoding="utf-8"), names) - {m} for m, p in modules.items()}
    assert cycle_in(graph) is None, " -> ".join(cycle_in(graph) or [])


def test_the_checks_can_fail() -> None:
    assert private_reaches("def f(model):\n    return model._fit_labels\n") == ["2: model._fit_labels"]
    assert private_reaches("class A:\n    def f(self):\n        return self._x\n") == []
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) is None
    assert imports_of("def f():\n    from cluster.topics.model import TopicModel\n",
                      {"cluster.topics.model"}) == {"cluster.topics.model"}
