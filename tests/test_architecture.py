"""The shape of the code: no import cycle between the packages of apps/, and core imports no app.

Reads every module's imports (top-level and inside functions: a lazy import is still a
dependency) with ``ast``, so it needs no Django and fails on the first new cycle.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

APPS = Path(__file__).resolve().parents[1] / "apps"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(APPS.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.add(node.module)
    return found


def package_graph() -> dict[str, set[str]]:
    """apps package -> the other apps packages its modules import."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in APPS.rglob("*.py"):
        parts = path.relative_to(APPS).parts
        if len(parts) < 2:
            continue
        own = parts[0]
        graph.setdefault(own, set())
        for module in _imported_modules(path):
            names = module.split(".")
            if names[0] == "apps" and len(names) > 1 and names[1] != own:
                graph[own].add(names[1])
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a list of packages (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_between_apps_packages():
    graph = package_graph()
    assert {"core", "accounts", "clusters", "graphs"} <= set(graph)  # the reader sees the packages
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between apps packages: " + " -> ".join(cycle or [])


def test_core_imports_no_app():
    assert package_graph()["core"] == set()


def test_the_clusters_app_does_not_know_the_simulator():
    # The simulator plugs in through apps.clusters.gateways.register_gateway_factory.
    assert "simulator" not in package_graph()["clusters"]
