"""No import circles between the modules of the package (DEVELOPERS.md: imports flow one way).

Every import counts, at module level and inside functions alike: an import moved into a function
only hides a circle. The one edge left out is between a package's ``__init__`` and its own
submodules (a package assembles its modules, and they import its other modules through it).
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import patronage

PACKAGE = Path(patronage.__file__).parent


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(name: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement names (``from a import b`` names ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join(package + ([node.module] if node.module else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _related(a: str, b: str) -> bool:
    """A package and one of its own submodules."""
    return a.startswith(b + ".") or b.startswith(a + ".")


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name].update(target for target in _imported(name, path, node)
                                   if target in modules and target != name
                                   and not _related(name, target))
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one module, without recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def shortest_cycle(graph: dict[str, set[str]], start: str) -> list[str]:
    """The shortest path of imports from ``start`` back to itself."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node]):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return []


def test_the_cycle_finder_finds_a_circle_and_only_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert shortest_cycle(graph, "b") == ["b", "c", "a", "b"]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_relative_and_function_level_imports_count():
    tree = ast.parse("def f():\n    from . import desk\n    from ..storage import schema\n")
    path = PACKAGE / "demo" / "desk_history.py"
    found = [_imported("patronage.demo.desk_history", path, node) for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom)]
    assert found == [["patronage.demo", "patronage.demo.desk"],
                     ["patronage.storage", "patronage.storage.schema"]]


def test_no_import_circles():
    graph = import_graph()
    circles = [" -> ".join(shortest_cycle(graph, component[0]))
               + f"  (circle of {len(component)}: {', '.join(component)})"
               for component in strongly_connected(graph)]
    assert circles == [], "import circles:\n" + "\n".join(circles)
