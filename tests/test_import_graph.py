"""The module graph: no import circles among the services or among the store's modules, and
the functional core imports nothing from the shell (DESIGN.md's dependency rule).

Every ``import``/``from ... import`` in a module counts, including those under
``TYPE_CHECKING`` and inside functions: a circle hidden behind a late import is still one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import datafair

ROOT = Path(datafair.__file__).resolve().parent
CORE = ("datafair.core", "datafair.quality", "datafair.economics", "datafair.crypto")
SHELL = (
    "datafair.store",
    "datafair.chain",
    "datafair.services",
    "datafair.cli",
    "datafair.node",
    "datafair.formats",
    "datafair.sim",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]], prefix: str) -> list[list[str]]:
    inside = {
        name: {t for t in targets if t.startswith(prefix + ".")}
        for name, targets in graph.items()
        if name.startswith(prefix + ".")
    }
    state: dict[str, int] = {}
    path: list[str] = []
    found: list[list[str]] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(inside.get(name, ())):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(inside):
        if name not in state:
            visit(name)
    return found


@pytest.mark.parametrize("package", ["datafair.services", "datafair.store"])
def test_no_import_circles(package: str) -> None:
    cycles = _cycles(_graph(), package)
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_core_imports_nothing_from_the_shell() -> None:
    graph = _graph()
    wrong = [
        f"{name} -> {target}"
        for name, targets in graph.items()
        if name.startswith(CORE)
        for target in targets
        if target.startswith(SHELL)
    ]
    assert not wrong, "core modules importing the shell: " + ", ".join(sorted(wrong))


def test_the_circle_detector_finds_a_circle() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert _cycles(graph, "p") == [["p.a", "p.b", "p.c", "p.a"]]
